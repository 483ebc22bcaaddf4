// The journal a run database is written with (sessions/store/journal_mode.hpp): WAL on a local
// disk, a rollback journal on a network file system, where SQLite's WAL index cannot be shared
// between machines. This machine has no NFS mount, so the rollback journal is chosen here with
// SRIGL_DB_JOURNAL=rollback, which is what a network file system gets without it.
#include <QtTest>

#include "sessions/store/journal_mode.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"
#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/stored_runs.hpp"
#include "tests/support/test_files.hpp"

#include <QFile>
#include <QTemporaryDir>

#include <atomic>
#include <csignal>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace srigl::sessions;

namespace {

void setJournal(const char* value) {
    if (value) qputenv("SRIGL_DB_JOURNAL", value);
    else qunsetenv("SRIGL_DB_JOURNAL");
}

std::vector<Metric> batchOf(int step, int n) {
    std::vector<Metric> batch;
    for (int j = 0; j < n; ++j) batch.push_back({step, "k" + std::to_string(j), step + j * 0.5});
    return batch;
}

bool exists(const std::string& path) { return QFile::exists(QString::fromStdString(path)); }

} // namespace

class TestJournalMode : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void networkFileSystemsAreNamed();
    void localDiskKeepsWal();
    void rollbackJournalOnRequest();
    void walDatabaseSwitchesWhenNoOneHoldsIt();
    void switchWaitsForAnotherProcessThenSaysWhy();
    void badValueIsRefused();
    void readerAndWriterShareARollbackJournal();
    void killedWriterIsRolledBack();
};

// Each case chooses; a SRIGL_DB_JOURNAL of the caller's environment does not leak in.
void TestJournalMode::init() { setJournal(nullptr); }

void TestJournalMode::cleanup() { setJournal(nullptr); }

void TestJournalMode::networkFileSystemsAreNamed() {
    QCOMPARE(networkFileSystemName(0x6969), std::string("nfs"));
    QCOMPARE(networkFileSystemName(0x0bd00bd0), std::string("lustre"));
    QCOMPARE(networkFileSystemName(0x47504653), std::string("gpfs"));
    QCOMPARE(networkFileSystemName(0x19830326), std::string("beegfs"));
    QCOMPARE(networkFileSystemName(0x00c36400), std::string("cephfs"));
    QCOMPARE(networkFileSystemName(0x65735546), std::string("fuse")); // sshfs, s3fs
    QCOMPARE(networkFileSystemName(0xff534d42LL), std::string("cifs"));
    // f_type is a signed long on some ABIs: a magic with the top bit set arrives negative.
    QCOMPARE(networkFileSystemName(static_cast<int32_t>(0xfe534d42U)), std::string("smb2"));
    for (const long long local : {0xef53LL /* ext4 */, 0x58465342LL /* xfs */, 0x9123683eLL /* btrfs */,
                                  0x01021994LL /* tmpfs */, 0x794c7630LL /* overlay */, 0LL})
        QCOMPARE(networkFileSystemName(local), std::string());
}

void TestJournalMode::localDiskKeepsWal() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        if (!networkFileSystemOf(path).empty()) QSKIP("the temporary folder is on a network file system");
        std::string why;
        QCOMPARE(journalModeFor(path, &why), JournalMode::Wal);
        QCOMPARE(why, std::string("a local file system"));
        setJournal("auto");
        QCOMPARE(journalModeFor(path), JournalMode::Wal);
        storeRun(path, minimalRun("local"));
        QCOMPARE(RawDb(path).text("PRAGMA journal_mode"), std::string("wal"));
    });
}

void TestJournalMode::rollbackJournalOnRequest() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        setJournal("rollback");
        std::string why;
        QCOMPARE(journalModeFor(path, &why), JournalMode::Rollback);
        QCOMPARE(why, std::string("SRIGL_DB_JOURNAL=rollback"));
        RunStore store(path);
        const int64_t id = store.createRun(minimalRun("shared"));
        store.addMetrics(id, batchOf(1, 5));
        // Nothing for another machine to map: no -wal, no -shm while the store is open.
        QVERIFY(!exists(path + "-wal"));
        QVERIFY(!exists(path + "-shm"));
        RawDb raw(path);
        QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("delete"));
        QCOMPARE(int(store.metrics(id).size()), 5);
        QVERIFY(store.integrityOk());
    });
}

void TestJournalMode::walDatabaseSwitchesWhenNoOneHoldsIt() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        const int64_t id = storeRun(path, minimalRun("moved"), batchOf(1, 7)); // WAL, on this disk
        QCOMPARE(RawDb(path).text("PRAGMA journal_mode"), std::string("wal"));
        setJournal("rollback"); // the folder is now reached over NFS
        {
            RunStore store(path);
            QCOMPARE(int(store.metrics(id).size()), 7);
            store.addMetrics(id, batchOf(2, 3));
        }
        QCOMPARE(RawDb(path).text("PRAGMA journal_mode"), std::string("delete"));
        setJournal("wal"); // and back on a local disk
        RunStore again(path);
        QCOMPARE(int(again.metrics(id).size()), 10);
        QCOMPARE(RawDb(path).text("PRAGMA journal_mode"), std::string("wal"));
    });
}

void TestJournalMode::switchWaitsForAnotherProcessThenSaysWhy() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        const int64_t id = storeRun(path, minimalRun("held"), batchOf(1, 4));
        RunStore holder(path); // another program with the file open in WAL mode
        setJournal("rollback");
        const auto error = storeErrorOf([&] { RunStore store(path); });
        QVERIFY(error);
        QVERIFY2(error->find("cannot switch to a rollback journal") != std::string::npos &&
                     error->find("SRIGL_DB_JOURNAL=rollback") != std::string::npos &&
                     error->find("another process still has the database open in WAL mode") != std::string::npos,
                 error->c_str());
        // Nothing changed: the holder goes on in WAL mode with every record.
        holder.addMetrics(id, batchOf(2, 2));
        QCOMPARE(int(holder.metrics(id).size()), 6);
        QVERIFY(holder.integrityOk());
    });
}

void TestJournalMode::badValueIsRefused() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        setJournal("delete"); // SQLite's word, not ours
        const auto error = storeErrorOf([&] { RunStore store(path); });
        QVERIFY(error);
        QCOMPARE(*error, std::string("SRIGL_DB_JOURNAL: must be wal, rollback or auto, got 'delete'"));
    });
}

// What WAL gave for free must hold with the rollback journal too: a reader never sees a batch in
// part, counts never go back, and the writer loses nothing to the reader's locks.
void TestJournalMode::readerAndWriterShareARollbackJournal() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        setJournal("rollback");
        const int64_t id = storeRun(path, minimalRun("live"));
        constexpr int kBatches = 150, kPerBatch = 4;
        std::atomic<bool> done{false};
        std::string writerError;
        std::thread writer([&] {
            try {
                RunStore w(path);
                for (int i = 0; i < kBatches; ++i) w.addMetrics(id, batchOf(i, kPerBatch));
            } catch (const std::exception& e) {
                writerError = e.what();
            }
            done = true;
        });
        std::string readerError;
        size_t last = 0;
        int reads = 0;
        try {
            RunStore reader(path, RunStore::Mode::ReadOnly);
            while (!done.load() || reads == 0) {
                const size_t n = reader.metrics(id).size();
                if (n < last || n % kPerBatch != 0) {
                    readerError = "read " + std::to_string(n) + " metrics after " + std::to_string(last);
                    break;
                }
                last = n;
                ++reads;
            }
        } catch (const std::exception& e) {
            readerError = e.what();
        }
        writer.join();
        QVERIFY2(writerError.empty(), writerError.c_str());
        QVERIFY2(readerError.empty(), readerError.c_str());
        QCOMPARE(int(RunStore(path).metrics(id).size()), kBatches * kPerBatch);
    });
}

// kill -9 in the middle of a transaction that had already written into the database file (a hot
// journal): the next writer rolls it back, the committed batches stay, and a reader that cannot
// roll back says what to do instead of showing the half-written pages.
void TestJournalMode::killedWriterIsRolledBack() {
    guarded([] {
        QTemporaryDir dir;
        const std::string path = dbIn(dir);
        setJournal("rollback");
        const int64_t id = storeRun(path, minimalRun("killed"), batchOf(1, 6));
        const pid_t child = fork();
        if (child == 0) {
            RunStore store(path);
            store.database().exec("PRAGMA cache_size=1"); // spill: the file itself changes before the commit
            store.database().exec("BEGIN IMMEDIATE");
            for (int i = 0; i < 2000; ++i)
                store.database().exec(("INSERT INTO metrics(run_id, step, key, value) VALUES (" + std::to_string(id) +
                                       ", " + std::to_string(100 + i) + ", 'half', " + std::to_string(i) + ")")
                                          .c_str());
            ::raise(SIGKILL);
            ::_exit(0);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        QVERIFY(exists(path + "-journal"));
        // A reader cannot roll back (reading never writes): it refuses with the way out.
        const auto readError = storeErrorOf([&] { RunStore reader(path, RunStore::Mode::ReadOnly); });
        QVERIFY(readError);
        QVERIFY2(readError->find("unfinished transaction") != std::string::npos, readError->c_str());
        RunStore store(path); // a writer rolls the journal back
        QCOMPARE(int(store.metrics(id).size()), 6);
        QVERIFY(store.integrityOk());
        QVERIFY(!exists(path + "-journal"));
        RunStore reader(path, RunStore::Mode::ReadOnly);
        QCOMPARE(int(reader.metrics(id).size()), 6);
    });
}

QTEST_GUILESS_MAIN(TestJournalMode)
#include "test_journal_mode.moc"
