// The CUDA kernel checks (cuda_checks.cpp) as a Qt Test suite: skipped without a GPU or kernels.
#include "tests/cuda/cuda_checks.hpp"

#include <QtTest>

class TestCudaKernels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void kernelsMatchTheReference();
};

void TestCudaKernels::kernelsMatchTheReference() {
    const std::string reason = srigl::tests::cudaChecksSkipReason();
    if (!reason.empty()) QSKIP(reason.c_str());
    std::string failures;
    int count = 0;
    for (const auto& result : srigl::tests::runCudaChecks()) {
        ++count;
        if (!result.passed) failures += result.name + ": " + result.detail + "\n";
    }
    QVERIFY(count > 0);
    QVERIFY2(failures.empty(), failures.c_str());
}

QTEST_GUILESS_MAIN(TestCudaKernels)
#include "test_cuda_kernels.moc"
