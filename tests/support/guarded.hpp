// Test helper shared by suites: run a body so that an exception fails the current test with its
// message (a named CTest case) instead of surfacing as an unhandled exception.
#pragma once

#include <QtTest>

#include <exception>
#include <functional>

inline void guarded(const std::function<void()>& body) {
    try {
        body();
    } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("unexpected exception: ") + e.what()));
    }
}
