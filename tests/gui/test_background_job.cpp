// The Studio's background jobs: those that train (sweeps, the init-variance analysis) run their thread
// at the interactive trainer's lower priority, so that the UI thread gets the cores first; those that
// time something (bench) or only read and write (import) keep the normal priority.
#include "engine/runtime/threading.hpp"
#include "sessions/session/session.hpp"
#include "widgets/jobs/init_variance_runner.hpp"
#include "widgets/jobs/job_runner.hpp"
#include "widgets/database/import_runner.hpp"
#include "widgets/sweeps/sweep_job_runner.hpp"
#include "widgets/timing/bench_runner.hpp"

#include <QSignalSpy>
#include <QtTest>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

using namespace srigl;
using namespace srigl::studio;

namespace {

int niceOfThisThread() {
    errno = 0;
    const int n = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
    return errno == 0 ? n : 100;
}

// A job that answers with the nice value of the thread it ran on.
int reportNiceness(const int&, const std::function<void(const sessions::JobProgress&)>&, const std::atomic<bool>*) {
    return niceOfThisThread();
}

class NicenessProbe : public JobRunner<int, int> {
public:
    explicit NicenessProbe(int niceness) : JobRunner(&reportNiceness, nullptr, niceness) {}
};

} // namespace

class TestBackgroundJob : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void trainingJobsYieldTheCores();
    void jobThreadRunsAtItsNiceness();
};

void TestBackgroundJob::trainingJobsYieldTheCores() {
    QCOMPARE(SweepJobRunner().niceness(), sessions::kInteractiveTrainerNiceness);
    QCOMPARE(InitVarianceRunner().niceness(), sessions::kInteractiveTrainerNiceness);
    QCOMPARE(BenchRunner().niceness(), 0); // its timings would suffer from every frame
    QCOMPARE(ImportRunner().niceness(), 0);
}

void TestBackgroundJob::jobThreadRunsAtItsNiceness() {
#if !defined(__linux__)
    QSKIP("per-thread nice values are Linux's");
#else
    const int base = niceOfThisThread();
    if (base > 14) QSKIP("this test already runs at the lowest priorities");
    for (const int niceness : {0, 5}) {
        NicenessProbe probe(niceness);
        QSignalSpy finished(&probe, &BackgroundJob::finished);
        QVERIFY(probe.start(0));
        QVERIFY(finished.wait(10000));
        QVERIFY(probe.lastResult().has_value());
        QCOMPARE(*probe.lastResult(), base + niceness);
        QCOMPARE(niceOfThisThread(), base); // the UI thread keeps its priority
    }
#endif
}

QTEST_MAIN(TestBackgroundJob)
#include "test_background_job.moc"
