// Anchor translation unit for the test suites' shared precompiled header.
