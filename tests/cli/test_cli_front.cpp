// The command line's front door: a word that names no command is named back with the real
// commands (exit 2), in the light front end (`srigl runs ...`) and in srigl-engine (every other
// command), while `srigl`, `srigl --help` and `srigl runs --help` still print the help.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/srigl_process.hpp"

#include <QStringList>
#include <QTemporaryDir>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");
const QString kEngine = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl-engine");

SriglResult run(const QString& program, const QStringList& args) { return runSriglProcess(program, args, 60000); }

// Every name in `names` appears in `text` as a word at the start of a line of the command list.
bool listsCommands(const QString& text, const QStringList& names) {
    for (const auto& name : names)
        if (!text.contains(QRegularExpression("\\n\\s+" + name + "\\s"))) return false;
    return true;
}

} // namespace

class TestCliFront : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void unknownCommandIsNamed();
    void unknownRunsCommandIsNamed();
    void bareAndHelpStillWork();
    void computeEnvironmentReachesTheEngine();
};

void TestCliFront::unknownCommandIsNamed() {
    guarded([&] {
        for (const auto& program : {kSrigl, kEngine}) {
            const SriglResult r = run(program, {"frobnicate"});
            QCOMPARE(r.exitCode, 2);
            QVERIFY2(r.err.contains("srigl: unknown command 'frobnicate'"), qPrintable(r.err));
            QVERIFY2(listsCommands(r.err, {"train", "runs", "sweep", "bench", "convert"}), qPrintable(r.err));
            QVERIFY2(!r.err.contains("A subcommand is required"), qPrintable(r.err));
            QVERIFY(r.out.isEmpty());
        }
        // Options around the word do not hide it.
        const SriglResult r = run(kSrigl, {"frobnicate", "--db", "x.db"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("unknown command 'frobnicate'"), qPrintable(r.err));
    });
}

void TestCliFront::unknownRunsCommandIsNamed() {
    guarded([&] {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        // The front end parses `runs` itself; srigl-engine does the same when called directly.
        const QList<std::pair<QString, QStringList>> lines = {{kSrigl, {"runs", "frobnicate"}},
                                                              {kSrigl, {"runs", "--db", db, "frobnicate"}},
                                                              {kEngine, {"runs", "frobnicate"}}};
        for (const auto& [program, args] : lines) {
            const SriglResult r = run(program, args);
            const QString what = args.join(' ');
            QVERIFY2(r.exitCode == 2, qPrintable(what + ": exit " + QString::number(r.exitCode)));
            QVERIFY2(r.err.contains("srigl runs: unknown command 'frobnicate'"), qPrintable(what + ": " + r.err));
            QVERIFY2(listsCommands(r.err, {"list", "show", "delete", "export", "diff", "sweeps"}), qPrintable(r.err));
        }
        QVERIFY(!QFile::exists(db));
    });
}

void TestCliFront::bareAndHelpStillWork() {
    guarded([&] {
        const SriglResult bare = run(kSrigl, {});
        QCOMPARE(bare.exitCode, 2);
        QVERIFY2(listsCommands(bare.err, {"train", "runs"}), qPrintable(bare.err));
        QVERIFY2(!bare.err.contains("unknown command"), qPrintable(bare.err));
        const SriglResult help = run(kSrigl, {"--help"});
        QCOMPARE(help.exitCode, 0);
        QVERIFY2(listsCommands(help.out, {"train", "runs"}), qPrintable(help.out));
        const SriglResult runsHelp = run(kSrigl, {"runs", "--help"});
        QCOMPARE(runsHelp.exitCode, 0);
        QVERIFY2(listsCommands(runsHelp.out, {"list", "show"}), qPrintable(runsHelp.out));
        const SriglResult bareRuns = run(kSrigl, {"runs"});
        QCOMPARE(bareRuns.exitCode, 2);
        QVERIFY2(listsCommands(bareRuns.err, {"list", "show"}), qPrintable(bareRuns.err));
    });
}

// A computing command runs with OpenMP's passive wait and malloc's huge pages (compute_environment.hpp)
// whether it starts through the front end or srigl-engine itself (which then re-executes), and what
// the user set is kept. The bench's JSON reports what the engine process saw.
void TestCliFront::computeEnvironmentReachesTheEngine() {
    guarded([&] {
        const QStringList bench = {"bench", "--in", "64", "--out", "16", "--sparsity", "0.9", "--batch", "1",
                                   "--seconds", "0", "--json", "--no-db", "-q"};
        struct Case {
            QString program;
            QString tunables; // GLIBC_TUNABLES given ("-": unset)
            QString omp;      // OMP_WAIT_POLICY given ("-": unset)
            QString malloc, policy;
        };
        const QList<Case> cases = {
            {kSrigl, "-", "-", "glibc.malloc.hugetlb=1", "PASSIVE"},
            {kEngine, "-", "-", "glibc.malloc.hugetlb=1", "PASSIVE"},
            {kEngine, "-", "ACTIVE", "glibc.malloc.hugetlb=1", "ACTIVE"},
            {kSrigl, "glibc.malloc.tcache_count=7", "-", "glibc.malloc.hugetlb=1", "PASSIVE"},
            {kSrigl, "glibc.malloc.hugetlb=0", "-", "glibc.malloc.hugetlb=0", "PASSIVE"},
            {kEngine, "glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=0", "PASSIVE", "glibc.malloc.hugetlb=0",
             "PASSIVE"},
        };
        for (const auto& c : cases) {
            QProcess p;
            auto env = QProcessEnvironment::systemEnvironment();
            env.remove("SRIGL_NO_REEXEC");
            env.remove("GLIBC_TUNABLES");
            env.remove("OMP_WAIT_POLICY");
            if (c.tunables != "-") env.insert("GLIBC_TUNABLES", c.tunables);
            if (c.omp != "-") env.insert("OMP_WAIT_POLICY", c.omp);
            p.setProcessEnvironment(env);
            p.start(c.program, bench);
            p.closeWriteChannel();
            const SriglResult r = finishSriglProcess(p, 120000);
            const QString what = c.program + " with GLIBC_TUNABLES " + c.tunables + ", OMP_WAIT_POLICY " + c.omp;
            QVERIFY2(r.exitCode == 0, qPrintable(what + ": " + r.err));
            const QJsonObject doc = QJsonDocument::fromJson(r.out.toUtf8()).object();
            QVERIFY2(doc.value("malloc").toString() == c.malloc, qPrintable(what + ": " + r.out.left(400)));
            QVERIFY2(doc.value("omp_wait_policy").toString() == c.policy, qPrintable(what + ": " + r.out.left(400)));
        }
    });
}

QTEST_GUILESS_MAIN(TestCliFront)
#include "test_cli_front.moc"
