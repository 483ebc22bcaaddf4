// `srigl launch` + `srigl train --distributed` as a user runs them: 2 and 3 workers on 127.0.0.1
// with Gloo. Masks identical on every rank, 2 workers x B/2 = 1 worker x B, a dead worker stops
// the run with a clear error within the timeout, resume of a distributed run, bad input.
#include <QtTest>

#include "engine/distributed/free_port.hpp"
#include "engine/distributed/process_group.hpp"
#include "tests/support/srigl_process.hpp"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <signal.h>
#include <unistd.h>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

// A small SRigL run with mask updates at steps 4, 8 and 12 (64 samples per global batch).
QStringList trainArgs(int64_t maxSteps, int64_t batch = 64) {
    return {"train", "--json", "--no-db", "--set", "synthetic_train=1024", "--set", "synthetic_test=256",
            "--set", "hidden=64,32", "--set", "method=srigl", "--set", "sparsity=0.9", "--set",
            "batch_size=" + QString::number(batch), "--set", "max_steps=" + QString::number(maxSteps), "--set",
            "delta_t=4", "--set", "lr=0.05", "--set", "threads=1", "--set", "log_every=1", "--set", "t_end=0.8",
            "--set", "epochs=1000"}; // max_steps ends the run
}

QStringList launch(int nproc, const QStringList& train) {
    return QStringList{"launch", "--nproc", QString::number(nproc), "--", kSrigl} + train + QStringList{"--distributed", "--timeout", "20"};
}

// The JSON objects of one rank's stdout: rank 0's lines are bare, the others' "[rank R] {...}".
QList<QJsonObject> eventsOf(const QString& out, int rank) {
    QList<QJsonObject> events;
    const QString prefix = rank == 0 ? QString() : QString("[rank %1] ").arg(rank);
    for (const QString& line : out.split('\n')) {
        if (rank == 0 && line.startsWith("[rank ")) continue;
        if (!line.startsWith(prefix + "{")) continue;
        events.append(QJsonDocument::fromJson(line.mid(prefix.size()).toUtf8()).object());
    }
    return events;
}

QJsonObject summaryOf(const QString& out, int rank) {
    for (const auto& e : eventsOf(out, rank))
        if (e["event"].toString() == "summary") return e;
    return {};
}

std::vector<double> stepLosses(const QString& out) {
    std::vector<double> losses;
    for (const auto& e : eventsOf(out, 0))
        if (e["event"].toString() == "step") losses.push_back(e["loss"].toDouble());
    return losses;
}

void requireSameMasksOnAllRanks(const SriglResult& r, int nproc) {
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QJsonObject first = summaryOf(r.out, 0);
    QCOMPARE(first["world_size"].toInt(), nproc);
    QVERIFY(first["masks_agree"].toBool());
    QVERIFY(first["mask_checks"].toInt() >= 4); // start, updates at 4, 8 (and 12 when t_end allows), end
    QVERIFY(!first["mask_checksum"].toString().isEmpty());
    for (int rank = 1; rank < nproc; ++rank) {
        const QJsonObject other = summaryOf(r.out, rank);
        QCOMPARE(other["rank"].toInt(), rank);
        QCOMPARE(other["mask_checksum"].toString(), first["mask_checksum"].toString());
        QCOMPARE(other["test_loss"].toDouble(), first["test_loss"].toDouble());
    }
}

// Waits (up to 60 s) until a started `srigl launch` trains (rank 0's step events); returns rank
// 1's process id, or 0. The launcher's stderr so far is appended to `err`.
qint64 rankOneOnceTraining(QProcess& p, QString& err) {
    p.closeWriteChannel();
    QElapsedTimer clock;
    clock.start();
    QString out;
    qint64 pid = 0;
    while (clock.elapsed() < 60000 && (pid == 0 || !out.contains("\"event\":\"step\""))) {
        p.waitForReadyRead(200);
        err += QString::fromUtf8(p.readAllStandardError());
        out += QString::fromUtf8(p.readAllStandardOutput());
        const auto m = QRegularExpression("rank 1 is process (\\d+)").match(err);
        if (m.hasMatch()) pid = m.captured(1).toLongLong();
    }
    return out.contains("\"event\":\"step\"") ? pid : 0;
}

} // namespace

class TestCliDistributed : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init();
    void twoWorkersKeepIdenticalMasks();
    void threeWorkersKeepIdenticalMasks();
    void twoHalfBatchesTrainLikeOneWholeBatch();
    void killedWorkerStopsTheLaunch();
    void deadPeerFailsTheSurvivorWithinTheTimeout();
    void hungWorkerFailsTheLaunchWithinTheTimeout();
    void distributedRunResumes();
    void missingRendezvousVariableIsAConfigError();
    void unevenBatchIsAConfigError();
    void launchWithoutCommandIsAnError();
};

void TestCliDistributed::init() {
    if (!srigl::distributedAvailable()) QSKIP("this build has no c10d/Gloo (SRIGL_HAVE_C10D off)");
}

void TestCliDistributed::twoWorkersKeepIdenticalMasks() {
    requireSameMasksOnAllRanks(runSriglProcess(kSrigl, launch(2, trainArgs(12)), 120000), 2);
}

void TestCliDistributed::threeWorkersKeepIdenticalMasks() {
    requireSameMasksOnAllRanks(runSriglProcess(kSrigl, launch(3, trainArgs(12, 48)), 120000), 3);
}

void TestCliDistributed::twoHalfBatchesTrainLikeOneWholeBatch() {
    const SriglResult one = runSriglProcess(kSrigl, trainArgs(12));
    QVERIFY2(one.exitCode == 0, qPrintable(one.err));
    const SriglResult two = runSriglProcess(kSrigl, launch(2, trainArgs(12)), 120000);
    QVERIFY2(two.exitCode == 0, qPrintable(two.err));
    const auto a = stepLosses(one.out), b = stepLosses(two.out);
    QCOMPARE(a.size(), size_t(12));
    QCOMPARE(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i)
        QVERIFY2(std::abs(a[i] - b[i]) <= 1e-3 * std::abs(a[i]),
                 qPrintable(QString("step %1: 1 worker %2, 2 workers %3").arg(i + 1).arg(a[i]).arg(b[i])));
    QCOMPARE(summaryOf(two.out, 0)["steps"].toInt(), 12);
    QVERIFY(std::abs(summaryOf(one.out, 0)["test_accuracy"].toDouble() -
                     summaryOf(two.out, 0)["test_accuracy"].toDouble()) < 0.02);
}

void TestCliDistributed::killedWorkerStopsTheLaunch() {
    QProcess p;
    prepareSriglProcess(p);
    p.start(kSrigl, launch(2, trainArgs(1000000)));
    // Wait until both workers train (rank 0's step events), then kill rank 1 as the OOM killer would.
    QString err;
    const qint64 pid = rankOneOnceTraining(p, err);
    QVERIFY2(pid > 0, qPrintable(err));
    QCOMPARE(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
    QElapsedTimer clock;
    clock.start();
    const SriglResult r = finishSriglProcess(p, 60000);
    err += r.err;
    QVERIFY2(r.exitCode != 0 && r.exitCode != -1, qPrintable(err));
    QVERIFY2(clock.elapsed() < 30000, "the launch outlived its dead worker for more than 30 s");
    QVERIFY2(err.contains("worker rank 1") && err.contains("killed by signal"), qPrintable(err));
}

void TestCliDistributed::deadPeerFailsTheSurvivorWithinTheTimeout() {
    // Without the launcher: the survivor itself must notice (c10d error or timeout), not hang.
    const int port = srigl::freeLoopbackPort();
    QProcess workers[2];
    for (int r = 0; r < 2; ++r) {
        prepareSriglProcess(workers[r]);
        auto env = workers[r].processEnvironment();
        env.insert("RANK", QString::number(r));
        env.insert("WORLD_SIZE", "2");
        env.insert("MASTER_ADDR", "127.0.0.1");
        env.insert("MASTER_PORT", QString::number(port));
        workers[r].setProcessEnvironment(env);
        workers[r].start(kSrigl, trainArgs(1000000) + QStringList{"--distributed", "--timeout", "10"});
        workers[r].closeWriteChannel();
    }
    QElapsedTimer clock;
    clock.start();
    QString out;
    while (clock.elapsed() < 60000 && !out.contains("\"event\":\"step\"")) {
        workers[0].waitForReadyRead(200);
        out += QString::fromUtf8(workers[0].readAllStandardOutput());
    }
    QVERIFY2(out.contains("\"event\":\"step\""), qPrintable(QString::fromUtf8(workers[0].readAllStandardError())));
    workers[1].kill();
    workers[1].waitForFinished();
    clock.restart();
    const SriglResult r = finishSriglProcess(workers[0], 60000);
    QVERIFY2(r.exitCode == 1, qPrintable(QString("exit %1: %2").arg(r.exitCode).arg(r.err)));
    QVERIFY2(clock.elapsed() < 10000 + 15000, "the survivor took longer than its timeout to fail");
    QVERIFY2(r.err.contains("training failed: rank 0:") && r.err.contains("another worker died"), qPrintable(r.err));
}

// A worker that hangs (SIGSTOP: alive, holding its sockets, never answering) rather than dies:
// rank 0's collectives time out, and the launcher then kills the stopped worker (SIGTERM cannot
// reach a stopped process; SIGKILL after --grace does).
void TestCliDistributed::hungWorkerFailsTheLaunchWithinTheTimeout() {
    QProcess p;
    prepareSriglProcess(p);
    p.start(kSrigl, QStringList{"launch", "--nproc", "2", "--grace", "2", "--", kSrigl} + trainArgs(1000000) +
                        QStringList{"--distributed", "--timeout", "5"});
    QString err;
    const qint64 pid = rankOneOnceTraining(p, err);
    QVERIFY2(pid > 0, qPrintable(err));
    QCOMPARE(::kill(static_cast<pid_t>(pid), SIGSTOP), 0);
    QElapsedTimer clock;
    clock.start();
    const SriglResult r = finishSriglProcess(p, 60000);
    err += r.err;
    const bool gone = ::kill(static_cast<pid_t>(pid), 0) != 0;
    if (!gone) ::kill(static_cast<pid_t>(pid), SIGKILL); // never leave a stopped worker behind
    QVERIFY2(r.exitCode != 0 && r.exitCode != -1, qPrintable(err));
    // 5 s timeout + 2 s grace + start-up slack on a busy machine.
    QVERIFY2(clock.elapsed() < 5000 + 2000 + 15000, qPrintable(QString("took %1 ms").arg(clock.elapsed())));
    QVERIFY2(err.contains("did not answer within the timeout of 5 s"), qPrintable(err));
    QVERIFY2(gone, "the launcher left the hung worker running");
}

void TestCliDistributed::distributedRunResumes() {
    QTemporaryDir dir;
    const QString ckpt = dir.filePath("half.ckpt");
    // First half by 2 workers: only rank 0 writes the checkpoint.
    const SriglResult first =
        runSriglProcess(kSrigl, launch(2, trainArgs(8) + QStringList{"--set", "checkpoint=" + ckpt}), 120000);
    QVERIFY2(first.exitCode == 0, qPrintable(first.err));
    QVERIFY(QFile::exists(ckpt));
    // The rest, by 2 workers and by 1, from the same checkpoint: the same run.
    // Each continuation writes its own checkpoint file (the resumed config names half.ckpt).
    const QStringList rest{"--resume", ckpt, "--json", "--no-db", "--set", "max_steps=16", "--set", "log_every=1"};
    const SriglResult two = runSriglProcess(
        kSrigl, launch(2, QStringList{"train"} + rest + QStringList{"--set", "checkpoint=" + dir.filePath("two.ckpt")}),
        120000);
    const SriglResult one =
        runSriglProcess(kSrigl, QStringList{"train"} + rest + QStringList{"--set", "checkpoint=" + dir.filePath("one.ckpt")});
    QVERIFY2(two.exitCode == 0, qPrintable(two.err));
    QVERIFY2(one.exitCode == 0, qPrintable(one.err));
    const auto a = stepLosses(one.out), b = stepLosses(two.out);
    QCOMPARE(a.size(), size_t(8)); // steps 9..16
    QCOMPARE(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i)
        QVERIFY2(std::abs(a[i] - b[i]) <= 1e-3 * std::abs(a[i]),
                 qPrintable(QString("step %1: %2 vs %3").arg(i + 9).arg(a[i]).arg(b[i])));
    const QJsonObject s = summaryOf(two.out, 0);
    QCOMPARE(s["steps"].toInt(), 16);
    QVERIFY(s["masks_agree"].toBool());
    QCOMPARE(summaryOf(two.out, 1)["mask_checksum"].toString(), s["mask_checksum"].toString());
}

void TestCliDistributed::missingRendezvousVariableIsAConfigError() {
    QProcess p;
    prepareSriglProcess(p);
    auto env = p.processEnvironment();
    for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) env.remove(v);
    env.insert("RANK", "0");
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", "29999");
    p.setProcessEnvironment(env);
    p.start(kSrigl, trainArgs(4) + QStringList{"--distributed"});
    p.closeWriteChannel();
    const SriglResult r = finishSriglProcess(p, 60000);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("config error: WORLD_SIZE"), qPrintable(r.err));
}

void TestCliDistributed::unevenBatchIsAConfigError() {
    const SriglResult r = runSriglProcess(kSrigl, launch(2, trainArgs(4, 63)), 60000);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("batch_size") && r.err.contains("63"), qPrintable(r.err));
}

void TestCliDistributed::launchWithoutCommandIsAnError() {
    const SriglResult none = runSriglProcess(kSrigl, {"launch", "--nproc", "2"}, 30000);
    QCOMPARE(none.exitCode, 2);
    const SriglResult missing = runSriglProcess(kSrigl, {"launch", "--nproc", "2", "--", "/nonexistent/worker"}, 30000);
    QCOMPARE(missing.exitCode, 127);
    QVERIFY2(missing.err.contains("cannot run '/nonexistent/worker'") && missing.err.contains("worker rank"),
             qPrintable(missing.err));
}

QTEST_GUILESS_MAIN(TestCliDistributed)
#include "test_cli_distributed.moc"
