// The global step scrubber over a stored run: it offers exactly the run's mask-update steps, shows
// the latest one and follows a live run's new steps until the user moves it, emits the selected
// (run, step) once per change, and polls only while the run is live.
#include "sessions/store/run_store.hpp"
#include "widgets/inspector/step_scrubber.hpp"
#include "widgets/common/store_reader.hpp"

#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

namespace {

MaskRecord snapshotAt(int64_t step, const std::string& layer) {
    MaskRecord r;
    r.step = step;
    r.mask.name = r.stats.name = layer;
    r.mask.outFeatures = r.stats.outFeatures = 2;
    r.mask.fanIn = r.stats.fanIn = 4;
    r.mask.bits = {0x33};
    r.stats.k = 2;
    return r;
}

} // namespace

class TestStepScrubber : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void offersTheStoredStepsAndShowsTheLatest();
    void followsALiveRunsNewSteps();
    void userMoveStopsFollowing();
    void sliderDragAndKeysAreUserMoves();
    void latestFollowsAgain();
    void selectStepPicksTheStepAtOrBefore();
    void anotherRunStartsOver();
    void stepsOfAnotherRunAreIgnored();
    void finishedRunIsNotPolled();

private:
    void addSteps(int64_t run, std::initializer_list<int64_t> steps);
    static QList<QPair<qint64, qint64>> emitted(const QSignalSpy& spy);

    std::unique_ptr<QTemporaryDir> dir_;
    QString db_;
    int64_t run_ = 0, other_ = 0;
};

void TestStepScrubber::init() {
    dir_ = std::make_unique<QTemporaryDir>();
    db_ = dir_->filePath(QStringLiteral("runs.db"));
    RunStore store(db_.toStdString());
    run_ = store.createRun(NewRun{"a", "{}", "t", "h", "cpu", "none", "srigl", "mlp", "synthetic", 1, 0.5});
    other_ = store.createRun(NewRun{"b", "{}", "t", "h", "cpu", "none", "srigl", "mlp", "synthetic", 1, 0.5});
}

void TestStepScrubber::addSteps(int64_t run, std::initializer_list<int64_t> steps) {
    RunStore store(db_.toStdString());
    for (int64_t s : steps) store.addMasks(run, {snapshotAt(s, "fc1"), snapshotAt(s, "fc2")});
}

QList<QPair<qint64, qint64>> TestStepScrubber::emitted(const QSignalSpy& spy) {
    QList<QPair<qint64, qint64>> out;
    for (const auto& args : spy) out.append({args.at(0).toLongLong(), args.at(1).toLongLong()});
    return out;
}

void TestStepScrubber::offersTheStoredStepsAndShowsTheLatest() {
    addSteps(run_, {0, 100, 200});
    StoreReader reader;
    StepScrubber s(reader);
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setRun(db_, run_, false);
    QVERIFY(spy.wait(10000));
    // Two layers per step, yet each step once.
    QCOMPARE(s.steps(), (std::vector<int64_t>{0, 100, 200}));
    QCOMPARE(emitted(spy), (QList<QPair<qint64, qint64>>{{run_, 200}}));
    QCOMPARE(s.selectedStep(), qint64(200));
    QCOMPARE(s.slider()->maximum(), 2);
    QCOMPARE(s.slider()->value(), 2);
}

void TestStepScrubber::followsALiveRunsNewSteps() {
    addSteps(run_, {0});
    StoreReader reader;
    StepScrubber s(reader);
    s.setPollInterval(50);
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setRun(db_, run_, true);
    QVERIFY(spy.wait(10000));
    addSteps(run_, {100});
    QTRY_COMPARE_WITH_TIMEOUT(s.selectedStep(), qint64(100), 10000);
    addSteps(run_, {200, 300});
    QTRY_COMPARE_WITH_TIMEOUT(s.selectedStep(), qint64(300), 10000);
    QVERIFY(s.followsLatest());
    const auto got = emitted(spy);
    QCOMPARE(got.first(), (QPair<qint64, qint64>{run_, 0}));
    QCOMPARE(got.last(), (QPair<qint64, qint64>{run_, 300}));
    // Each step at most once, in increasing order (polls that found nothing new emit nothing).
    for (int i = 1; i < got.size(); ++i) QVERIFY(got[i].second > got[i - 1].second);
}

void TestStepScrubber::userMoveStopsFollowing() {
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(QString(), run_, true); // no database: only the steps given here
    s.setSteps(run_, {0, 100, 200});
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.selectStep(100);
    QCOMPARE(emitted(spy), (QList<QPair<qint64, qint64>>{{run_, 100}}));
    QVERIFY(!s.followsLatest());
    s.setSteps(run_, {0, 100, 200, 300, 400}); // the live run moves on
    QCOMPARE(s.selectedStep(), qint64(100));
    QCOMPARE(spy.size(), 1); // nothing new: the user's step stays
    QCOMPARE(s.slider()->maximum(), 4);
    QCOMPARE(s.slider()->value(), 1);
}

void TestStepScrubber::sliderDragAndKeysAreUserMoves() {
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(QString(), run_, true); // no database: only the steps given here
    s.setSteps(run_, {0, 100, 200, 300});
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.slider()->setValue(1); // what a drag does
    QVERIFY(!s.followsLatest());
    QCOMPARE(emitted(spy).last(), (QPair<qint64, qint64>{run_, 100}));
    s.slider()->setFocus();
    QTest::keyClick(s.slider(), Qt::Key_Right);
    QCOMPARE(s.selectedStep(), qint64(200));
    QCOMPARE(emitted(spy).last(), (QPair<qint64, qint64>{run_, 200}));
    QCOMPARE(spy.size(), 2);
}

void TestStepScrubber::latestFollowsAgain() {
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(QString(), run_, true); // no database: only the steps given here
    s.setSteps(run_, {0, 100, 200});
    s.selectStep(0);
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setFollowLatest(true);
    QCOMPARE(emitted(spy), (QList<QPair<qint64, qint64>>{{run_, 200}}));
    s.setSteps(run_, {0, 100, 200, 300});
    QCOMPARE(emitted(spy).last(), (QPair<qint64, qint64>{run_, 300}));
}

void TestStepScrubber::selectStepPicksTheStepAtOrBefore() {
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(QString(), run_, false); // no database: only the steps given here
    s.setSteps(run_, {0, 100, 200});
    s.selectStep(150);
    QCOMPARE(s.selectedStep(), qint64(100));
    s.selectStep(-5);
    QCOMPARE(s.selectedStep(), qint64(0));
    s.selectStep(1000);
    QCOMPARE(s.selectedStep(), qint64(200));
}

void TestStepScrubber::anotherRunStartsOver() {
    addSteps(other_, {0, 50});
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(db_, run_, false);
    s.setSteps(run_, {0, 100, 200});
    s.selectStep(0);
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setRun(db_, other_, false);
    QVERIFY(s.followsLatest());
    QVERIFY(spy.wait(10000));
    QCOMPARE(emitted(spy), (QList<QPair<qint64, qint64>>{{other_, 50}}));
}

void TestStepScrubber::stepsOfAnotherRunAreIgnored() {
    StoreReader reader;
    StepScrubber s(reader);
    s.setRun(QString(), run_, false); // no database: only the steps given here
    s.setSteps(run_, {0, 100});
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setSteps(other_, {0, 100, 900}); // a late read of a run no longer selected
    QCOMPARE(s.steps(), (std::vector<int64_t>{0, 100}));
    QCOMPARE(spy.size(), 0);
}

void TestStepScrubber::finishedRunIsNotPolled() {
    addSteps(run_, {0, 100});
    StoreReader reader;
    StepScrubber s(reader);
    s.setPollInterval(20);
    QSignalSpy spy(&s, &StepScrubber::stepSelected);
    s.setRun(db_, run_, false);
    QVERIFY(spy.wait(10000));
    addSteps(run_, {200});
    QTest::qWait(300);
    QCOMPARE(s.steps(), (std::vector<int64_t>{0, 100}));
    // When a live run ends, one last read picks up its final steps.
    s.setLive(true);
    s.setLive(false);
    QTRY_COMPARE_WITH_TIMEOUT(s.selectedStep(), qint64(200), 10000);
}

QTEST_MAIN(TestStepScrubber)
#include "test_step_scrubber.moc"
