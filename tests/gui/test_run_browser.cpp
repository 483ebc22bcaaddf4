// The run browser on a temporary database: every run listed, filters by status, method and text,
// numeric sorting, tags and notes written to the store, delete only after confirmation, and the
// live run's Steps cell following the session. Reads and edits go through a StoreReader: the
// table follows when they are back.
#include "sessions/store/run_store.hpp"
#include "sessions/store/writer_stamp.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/runs/run_filter_proxy.hpp"
#include "widgets/runs/run_table_model.hpp"

#include <QComboBox>
#include <QFont>
#include <QLineEdit>
#include <QMessageBox>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace srigl;
using namespace srigl::sessions;
using namespace srigl::studio;

class TestRunBrowser : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void listsEveryRun();
    void filtersByStatus();
    void filtersByMethod();
    void filtersByTextInNameTagsAndNotes();
    void filtersCombine();
    void sortsNumbersAsNumbers();
    void editsTagsInTheStore();
    void editsNotesInTheStore();
    void deleteAsksFirst();
    void deleteRefusesARunningRun();
    void releasesARunOfAGoneMachine();
    void refusesADatabaseThatIsNotOurs();
    void liveRunStepsFollowTheSession();

private:
    QStringList visibleNames() const;
    int64_t idOf(const QString& name) const;

    std::unique_ptr<QTemporaryDir> dir_;
    QString dbPath_;
    std::unique_ptr<StoreReader> reader_;
    std::unique_ptr<RunBrowserPanel> panel_;
};

namespace {

// What the store has for run `id` now (through a connection of the test's own).
RunInfo storedRun(const QString& db, int64_t id) {
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    return store.run(id);
}

size_t storedRunCount(const QString& db) {
    RunStore store(db.toStdString(), RunStore::Mode::ReadOnly);
    return store.listRuns().size();
}

} // namespace

void TestRunBrowser::init() {
    dir_ = std::make_unique<QTemporaryDir>();
    QVERIFY(dir_->isValid());
    dbPath_ = dir_->filePath(QStringLiteral("runs.db"));
    RunStore store(dbPath_.toStdString());
    // 12 runs: ids 1..12 (so a text sort of ids would put 10 before 2).
    struct Row { const char* name; const char* method; double sparsity; RunStatus status; double acc; };
    const Row rows[] = {
        {"alpha srigl 90", "srigl", 0.90, RunStatus::Finished, 0.97},
        {"beta rigl 90", "rigl", 0.90, RunStatus::Finished, 0.95},
        {"gamma srigl 99", "srigl", 0.99, RunStatus::Failed, -1},
        {"delta set 80", "set", 0.80, RunStatus::Stopped, 0.90},
        {"epsilon dense", "dense", 0.0, RunStatus::Finished, 0.98},
        {"zeta static 95", "static", 0.95, RunStatus::Interrupted, -1},
        {"eta srigl 50", "srigl", 0.50, RunStatus::Finished, 0.985},
        {"theta rigl 99", "rigl", 0.99, RunStatus::Finished, 0.93},
        {"iota srigl 95", "srigl", 0.95, RunStatus::Finished, 0.96},
        {"kappa rigl 50", "rigl", 0.50, RunStatus::Stopped, 0.91},
        {"lambda srigl 97", "srigl", 0.97, RunStatus::Finished, 0.955},
        {"mu live", "srigl", 0.90, RunStatus::Running, -1},
    };
    int64_t steps = 100;
    for (const auto& r : rows) {
        NewRun n;
        n.name = r.name;
        n.method = r.method;
        n.model = "mlp";
        n.dataset = "synthetic";
        n.sparsity = r.sparsity;
        n.config = "{}";
        const int64_t id = store.createRun(n);
        if (r.status != RunStatus::Running) store.finishRun(id, r.status, steps, r.acc);
        steps = steps * 3 / 2;
    }
    store.addTag(1, "baseline");
    store.addTag(9, "paper");
    store.setNotes(4, "learning rate too high, see baseline");
    reader_ = std::make_unique<StoreReader>();
    panel_ = std::make_unique<RunBrowserPanel>(*reader_);
    panel_->setConfirm([](const QString&, const QString&) { return true; });
    QSignalSpy opened(panel_->model(), &RunTableModel::opened);
    panel_->openDatabase(dbPath_);
    QVERIFY(opened.wait(10000));
    QCOMPARE(opened.first().at(1).toBool(), true);
}

void TestRunBrowser::cleanup() {
    panel_.reset();
    reader_.reset();
    dir_.reset();
}

QStringList TestRunBrowser::visibleNames() const {
    QStringList names;
    auto* proxy = panel_->proxy();
    for (int row = 0; row < proxy->rowCount(); ++row)
        names << proxy->index(row, RunTableModel::Name).data().toString();
    return names;
}

int64_t TestRunBrowser::idOf(const QString& name) const {
    auto* m = panel_->model();
    for (int row = 0; row < m->rowCount(); ++row)
        if (m->run(row).name == name.toStdString()) return m->run(row).id;
    return -1;
}

void TestRunBrowser::listsEveryRun() {
    QCOMPARE(panel_->model()->rowCount(), 12);
    QCOMPARE(panel_->proxy()->rowCount(), 12);
    // Newest first by default.
    QCOMPARE(panel_->proxy()->index(0, RunTableModel::Name).data().toString(), QStringLiteral("mu live"));
    QCOMPARE(panel_->model()->index(0, RunTableModel::Tags).data().toString(), QStringLiteral("baseline"));
    QCOMPARE(panel_->model()->index(0, RunTableModel::TestAccuracy).data().toString(), QStringLiteral("0.9700"));
    QCOMPARE(panel_->model()->index(2, RunTableModel::TestAccuracy).data().toString(), QStringLiteral("–"));
}

void TestRunBrowser::filtersByStatus() {
    auto* status = panel_->statusFilter();
    status->setCurrentIndex(status->findData(QStringLiteral("stopped")));
    QCOMPARE(visibleNames().size(), 2);
    QVERIFY(visibleNames().contains(QStringLiteral("delta set 80")));
    QVERIFY(visibleNames().contains(QStringLiteral("kappa rigl 50")));
    status->setCurrentIndex(status->findData(QStringLiteral("running")));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("mu live")});
    status->setCurrentIndex(0);
    QCOMPARE(visibleNames().size(), 12);
}

void TestRunBrowser::filtersByMethod() {
    auto* method = panel_->methodFilter();
    method->setCurrentIndex(method->findData(QStringLiteral("rigl")));
    QCOMPARE(visibleNames().size(), 3); // "srigl" must not match "rigl"
    for (const auto& n : visibleNames()) QVERIFY(n.contains(QStringLiteral(" rigl ")));
}

void TestRunBrowser::filtersByTextInNameTagsAndNotes() {
    auto* text = panel_->textFilter();
    text->setText(QStringLiteral("GAMMA"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("gamma srigl 99")});
    text->setText(QStringLiteral("paper")); // a tag
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("iota srigl 95")});
    text->setText(QStringLiteral("baseline")); // a tag of run 1 and the notes of run 4
    QCOMPARE(visibleNames().size(), 2);
    text->setText(QStringLiteral("no such run"));
    QCOMPARE(visibleNames().size(), 0);
    text->clear();
    QCOMPARE(visibleNames().size(), 12);
}

void TestRunBrowser::filtersCombine() {
    panel_->methodFilter()->setCurrentIndex(panel_->methodFilter()->findData(QStringLiteral("srigl")));
    panel_->statusFilter()->setCurrentIndex(panel_->statusFilter()->findData(QStringLiteral("finished")));
    QCOMPARE(visibleNames().size(), 4); // alpha, eta, iota, lambda
    panel_->textFilter()->setText(QStringLiteral("9"));
    QCOMPARE(visibleNames().size(), 3); // alpha 90, iota 95, lambda 97
}

void TestRunBrowser::sortsNumbersAsNumbers() {
    QTableView* view = panel_->view();
    view->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
    QStringList ids;
    for (int row = 0; row < panel_->proxy()->rowCount(); ++row)
        ids << panel_->proxy()->index(row, RunTableModel::Id).data().toString();
    QCOMPARE(ids.mid(8), (QStringList{"9", "10", "11", "12"}));

    view->sortByColumn(RunTableModel::TestAccuracy, Qt::DescendingOrder);
    QCOMPARE(panel_->proxy()->index(0, RunTableModel::Name).data().toString(), QStringLiteral("eta srigl 50"));
    QCOMPARE(panel_->proxy()->index(1, RunTableModel::Name).data().toString(), QStringLiteral("epsilon dense"));

    view->sortByColumn(RunTableModel::Steps, Qt::AscendingOrder);
    double previous = -1;
    for (int row = 0; row < panel_->proxy()->rowCount(); ++row) {
        const double steps = panel_->proxy()->index(row, RunTableModel::Steps).data(RunTableModel::SortRole).toDouble();
        QVERIFY(steps >= previous);
        previous = steps;
    }
    view->sortByColumn(RunTableModel::Sparsity, Qt::AscendingOrder);
    QCOMPARE(panel_->proxy()->index(0, RunTableModel::Name).data().toString(), QStringLiteral("epsilon dense"));
}

void TestRunBrowser::editsTagsInTheStore() {
    auto* m = panel_->model();
    const int row = m->rowOfRun(2);
    QVERIFY(m->setData(m->index(row, RunTableModel::Tags), QStringLiteral(" fast, cmp ,fast,, "), Qt::EditRole));
    QCOMPARE(m->index(row, RunTableModel::Tags).data().toString(), QStringLiteral("cmp, fast"));
    QTRY_COMPARE_WITH_TIMEOUT(storedRun(dbPath_, 2).tags, (std::vector<std::string>{"cmp", "fast"}), 10000);
    // Removing a tag is an edit too.
    QVERIFY(m->setData(m->index(row, RunTableModel::Tags), QStringLiteral("fast"), Qt::EditRole));
    QTRY_COMPARE_WITH_TIMEOUT(storedRun(dbPath_, 2).tags, std::vector<std::string>{"fast"}, 10000);
    QVERIFY(m->flags(m->index(row, RunTableModel::Tags)) & Qt::ItemIsEditable);
    QVERIFY(!(m->flags(m->index(row, RunTableModel::Name)) & Qt::ItemIsEditable));
    // The text filter sees the new tag at once.
    panel_->textFilter()->setText(QStringLiteral("fast"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("beta rigl 90")});
}

void TestRunBrowser::editsNotesInTheStore() {
    auto* m = panel_->model();
    const int row = m->rowOfRun(5);
    QVERIFY(m->setData(m->index(row, RunTableModel::Notes), QStringLiteral("dense reference"), Qt::EditRole));
    QTRY_COMPARE_WITH_TIMEOUT(storedRun(dbPath_, 5).notes, std::string("dense reference"), 10000);
    // A reload reads what the store has.
    QSignalSpy reset(m, &QAbstractItemModel::modelReset);
    panel_->reload();
    QVERIFY(reset.wait(10000));
    QCOMPARE(m->index(m->rowOfRun(5), RunTableModel::Notes).data().toString(), QStringLiteral("dense reference"));
}

void TestRunBrowser::deleteAsksFirst() {
    QString asked;
    bool answer = false;
    panel_->setConfirm([&](const QString&, const QString& q) {
        asked = q;
        return answer;
    });
    panel_->view()->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
    panel_->view()->selectRow(3); // run 4
    QCOMPARE(panel_->deleteSelected(), 0);
    QVERIFY(asked.contains(QStringLiteral("(4)")));
    QCOMPARE(panel_->model()->rowCount(), 12);

    answer = true;
    QCOMPARE(panel_->deleteSelected(), 1);
    QCOMPARE(panel_->model()->rowCount(), 11);
    QCOMPARE(idOf(QStringLiteral("delta set 80")), int64_t(-1));
    QTRY_COMPARE_WITH_TIMEOUT(storedRunCount(dbPath_), size_t(11), 10000);
    QVERIFY_THROWS_EXCEPTION(StoreError, storedRun(dbPath_, 4));
}

void TestRunBrowser::deleteRefusesARunningRun() {
    QVERIFY(!panel_->model()->deleteRun(12));
    QVERIFY(panel_->message().contains(QStringLiteral("still running")));
    QCOMPARE(panel_->model()->rowCount(), 12);
}

// A run a cluster node was training when it died stayed "running" in the Studio for ever, and
// could be neither continued nor deleted there.
void TestRunBrowser::releasesARunOfAGoneMachine() {
    RunTableModel* m = panel_->model();
    const int64_t id = idOf(QStringLiteral("mu live")); // running, by this process
    panel_->view()->sortByColumn(RunTableModel::Id, Qt::AscendingOrder);
    panel_->view()->selectRow(m->rowOfRun(id));
    QCOMPARE(panel_->releasableRun(), qint64(0)); // this machine's own process can be checked
    QVERIFY(!panel_->releaseSelected());

    const auto stampNode07 = [&](int64_t agoMs) {
        const int64_t heardAt = srigl::sessions::nowMs() - agoMs;
        RunStore(dbPath_.toStdString())
            .database()
            .exec(("UPDATE runs SET host = 'node07', pid = 4242, heard_at = " + std::to_string(heardAt) +
                   " WHERE id = " + std::to_string(id))
                      .c_str());
        m->refreshRun(id);
        QTRY_COMPARE_WITH_TIMEOUT(m->run(m->rowOfRun(id)).heardAt, heardAt, 10000);
    };
    QString title, asked;
    bool answer = false;
    panel_->setConfirm([&](const QString& t, const QString& q) {
        title = t;
        asked = q;
        return answer;
    });
    // Heard from seconds ago: the question says it is most likely alive; a no changes nothing.
    stampNode07(5000);
    QCOMPARE(panel_->releasableRun(), qint64(id));
    QVERIFY(!panel_->releaseSelected());
    QCOMPARE(title, QStringLiteral("Release run"));
    QVERIFY2(asked.contains(QStringLiteral("process 4242 on node07, last heard from 5 s ago")) &&
                 asked.contains(QStringLiteral("most likely still training")),
             qPrintable(asked));
    QVERIFY(storedRun(dbPath_, id).status == RunStatus::Running);

    // Silent for an hour: the status cell says so, and a yes releases it.
    stampNode07(3600 * 1000);
    const QModelIndex status = m->index(m->rowOfRun(id), RunTableModel::Status);
    QVERIFY2(status.data(Qt::ToolTipRole).toString().contains(QStringLiteral("last heard from 60 min ago")),
             qPrintable(status.data(Qt::ToolTipRole).toString()));
    QVERIFY(status.data(Qt::FontRole).value<QFont>().italic());
    // With SRIGL_SCREENSHOT_DIR set: the browser with the silent run, and the question it asks.
    if (const QString shots = qEnvironmentVariable("SRIGL_SCREENSHOT_DIR"); !shots.isEmpty()) {
        panel_->resize(1100, 420);
        panel_->show();
        QVERIFY(panel_->grab().save(shots + QStringLiteral("/studio_release_browser.png")));
        QVERIFY(!panel_->releaseSelected()); // answer is still no: only the question is captured
        QMessageBox box(QMessageBox::Question, title, asked, QMessageBox::Yes | QMessageBox::No);
        box.show();
        QVERIFY(box.grab().save(shots + QStringLiteral("/studio_release_question.png")));
    }
    answer = true;
    QVERIFY(panel_->releaseSelected());
    QVERIFY(!asked.contains(QStringLiteral("most likely still training")));
    QTRY_VERIFY_WITH_TIMEOUT(storedRun(dbPath_, id).status == RunStatus::Interrupted, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(panel_->continuableRun(), qint64(id), 10000);
    QVERIFY(panel_->message().contains(QStringLiteral("Released run")));
    QCOMPARE(panel_->releasableRun(), qint64(0));
}

void TestRunBrowser::refusesADatabaseThatIsNotOurs() {
    const QString other = dir_->filePath(QStringLiteral("notes.txt"));
    QFile f(other);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a database at all, just some text that is long enough to look like a header");
    f.close();
    RunBrowserPanel panel(*reader_);
    QSignalSpy opened(panel.model(), &RunTableModel::opened);
    panel.openDatabase(other);
    QVERIFY(opened.wait(10000));
    QCOMPARE(opened.first().at(1).toBool(), false);
    QVERIFY(!panel.message().isEmpty());
    QCOMPARE(panel.model()->rowCount(), 0);
    QFile check(other);
    QVERIFY(check.open(QIODevice::ReadOnly));
    QVERIFY(check.readAll().startsWith("not a database")); // left untouched
}

void TestRunBrowser::liveRunStepsFollowTheSession() {
    RunTableModel* m = panel_->model();
    const int64_t live = idOf(QStringLiteral("mu live")), done = idOf(QStringLiteral("alpha srigl 90"));
    auto stepsOf = [m](int64_t id) { return m->index(m->rowOfRun(id), RunTableModel::Steps).data().toLongLong(); };
    RunStore store(dbPath_.toStdString());
    store.updateProgress(live, 40); // what the recorder last wrote
    m->refreshRun(live);
    QTRY_COMPARE_WITH_TIMEOUT(stepsOf(live), 40LL, 10000);

    QSignalSpy changed(m, &QAbstractItemModel::dataChanged);
    m->setLiveStep(live, 250);
    QCOMPARE(stepsOf(live), 250LL);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.front().at(0).toModelIndex().column(), int(RunTableModel::Steps));
    // The sort follows the live value too.
    panel_->view()->sortByColumn(RunTableModel::Steps, Qt::AscendingOrder);
    m->setLiveStep(live, 1'000'000);
    const QModelIndex last = panel_->proxy()->index(panel_->proxy()->rowCount() - 1, RunTableModel::Name);
    QCOMPARE(last.data().toString(), QStringLiteral("mu live"));
    // Reads of the store (slower than the session) never take the cell backwards while it runs.
    QSignalSpy refreshed(m, &QAbstractItemModel::dataChanged);
    m->refreshRun(live);
    QVERIFY(refreshed.wait(10000));
    QCOMPARE(stepsOf(live), 1'000'000LL);
    QSignalSpy reset(m, &QAbstractItemModel::modelReset);
    m->reload();
    QVERIFY(reset.wait(10000));
    QCOMPARE(stepsOf(live), 1'000'000LL);
    // A step that goes back (an older poll) is ignored; a finished run shows what the store says.
    m->setLiveStep(live, 10);
    QCOMPARE(stepsOf(live), 1'000'000LL);
    const qlonglong doneSteps = stepsOf(done);
    m->setLiveStep(done, doneSteps + 77);
    QCOMPARE(stepsOf(done), doneSteps);
    // The run ends: its final count in the store wins.
    store.finishRun(live, RunStatus::Finished, 1234, 0.9);
    m->setLiveStep(live, 1'000'001);
    m->refreshRun(live);
    QTRY_COMPARE_WITH_TIMEOUT(stepsOf(live), 1234LL, 10000);
}

QTEST_MAIN(TestRunBrowser)
#include "test_run_browser.moc"
