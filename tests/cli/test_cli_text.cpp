// What `srigl` prints back: number checks say the rule in a few words (CLI11's own printed the
// type's limit, DBL_MAX in 309 digits), and text read from a database (names, tags, notes, configs,
// sweep grids, metric keys) reaches the terminal with its control characters shown as escapes, so
// a run named "\x1b[2J" by an older version or another tool is listed, not obeyed.
#include <QtTest>

#include "tests/support/guarded.hpp"
#include "tests/support/raw_db.hpp"
#include "tests/support/srigl_process.hpp"
#include "tests/support/stored_runs.hpp"

#include "app/cli/printable_text.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <memory>
#include <string>
#include <vector>

using srigl::cli::printableJson;
using srigl::printableLines;
using srigl::printableText;

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

// What a command wrote, as bytes: the check is on the raw bytes a terminal would receive.
struct RawResult {
    int exitCode = -1; // -1: crashed or timed out
    QByteArray out, err;
};

// Independent commands at once (start-up dominates these short commands); results in order.
QList<RawResult> runParallel(const QList<QStringList>& commands, int timeoutMs = 120000) {
    std::vector<std::unique_ptr<QProcess>> procs;
    for (const auto& args : commands) {
        procs.push_back(std::make_unique<QProcess>());
        prepareSriglProcess(*procs.back());
        procs.back()->start(kSrigl, args);
        procs.back()->closeWriteChannel();
    }
    QList<RawResult> results;
    for (auto& p : procs) {
        if (!p->waitForFinished(timeoutMs)) {
            p->kill();
            p->waitForFinished();
        }
        results.push_back({p->exitStatus() == QProcess::NormalExit ? p->exitCode() : -1, p->readAllStandardOutput(),
                           p->readAllStandardError()});
    }
    return results;
}

// The escaped text as a QString, so a failed comparison prints both sides.
QString shown(const std::string& text) { return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())); }
QString utf8(const char* text) { return QString::fromUtf8(text); }

// Command output for a failure message: what the suite checks for must not reach the terminal of
// whoever reads the test log either.
QString visible(const QByteArray& bytes) { return shown(printableLines(bytes.left(2000).toStdString())); }

// The first byte (or UTF-8 encoded C1 control) in `bytes` that drives a terminal, as text for a
// failure message; empty when there is none. Newlines end lines, the one control a table may hold.
QString firstControl(const QByteArray& bytes) {
    for (int i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<uint8_t>(bytes[i]);
        const bool c1 = c == 0xC2 && i + 1 < bytes.size() && static_cast<uint8_t>(bytes[i + 1]) >= 0x80 &&
                        static_cast<uint8_t>(bytes[i + 1]) <= 0x9F;
        if ((c < 0x20 && c != '\n') || c == 0x7F || c1)
            return QString("byte 0x%1 at %2 in: %3").arg(c, 2, 16, QChar('0')).arg(i).arg(visible(bytes.left(400)));
    }
    return {};
}

} // namespace

class TestCliText : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void printableTextEscapesControls();
    void printableJsonKeepsTheDocument();
    void numberChecksSayTheRuleBriefly();
    void validNumbersStillPass();
    void storedControlCharactersAreShownNotObeyed();
};

void TestCliText::printableTextEscapesControls() {
    // Printable ASCII and well-formed UTF-8 as they are.
    QCOMPARE(shown(printableText("run-1 lr=0.1 {\"a\": [1]} \\ ~")), utf8("run-1 lr=0.1 {\"a\": [1]} \\ ~"));
    QCOMPARE(shown(printableText("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x99\x82")),
             utf8("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x99\x82"));
    QCOMPARE(shown(printableText("")), utf8(""));
    // C0 controls, the line breaks and tab of a one-line cell included, and DEL.
    QCOMPARE(shown(printableText("a\x1b[2Jb")), utf8("a\\x1b[2Jb"));
    QCOMPARE(shown(printableText("a\tb\nc\rd\x07")), utf8("a\\x09b\\x0ac\\x0dd\\x07"));
    QCOMPARE(shown(printableText(std::string("nul\0x", 5))), utf8("nul\\x00x"));
    QCOMPARE(shown(printableText("del\x7f")), utf8("del\\x7f"));
    // C1 controls, well-formed UTF-8 that 8-bit terminals take as CSI, OSC...: U+0080, U+009B, U+009F.
    QCOMPARE(shown(printableText("\xc2\x80 \xc2\x9b"
                                 "31m \xc2\x9f")),
             utf8("\\u0080 \\u009b31m \\u009f"));
    // U+00A0 and up are text again.
    QCOMPARE(shown(printableText("\xc2\xa0\xc2\xbf")), utf8("\xc2\xa0\xc2\xbf"));
    // Bytes that are no part of a well-formed character: each as \xNN, the text around kept.
    QCOMPARE(shown(printableText("caf\xe9!")), utf8("caf\\xe9!"));
    QCOMPARE(shown(printableText("\x80\xbf")), utf8("\\x80\\xbf"));
    QCOMPARE(shown(printableText("x\xe4\xb8")), utf8("x\\xe4\\xb8"));                 // cut short
    QCOMPARE(shown(printableText("\xc0\xaf")), utf8("\\xc0\\xaf"));                   // overlong '/'
    QCOMPARE(shown(printableText("\xed\xa0\x80")), utf8("\\xed\\xa0\\x80"));          // a surrogate
    QCOMPARE(shown(printableText("\xf4\x90\x80\x80")), utf8("\\xf4\\x90\\x80\\x80")); // above U+10FFFF
    QCOMPARE(shown(printableText("\xc2\x1b[m")), utf8("\\xc2\\x1b[m"));               // a lead byte before ESC
    // Its output prints as it is: escaping twice changes nothing.
    const std::string once = printableText("\x1b\xc2\x9b\xe9\x7f\xe4\xb8\xad");
    QCOMPARE(shown(printableText(once)), shown(once));
    // Several lines (a message): newlines kept, the rest as above.
    QCOMPARE(shown(printableLines("one\ntwo\x1b[K\t")), utf8("one\ntwo\\x1b[K\\x09"));
}

void TestCliText::printableJsonKeepsTheDocument() {
    // nlohmann::json leaves DEL and C1 raw in its UTF-8 output; the rewrite is the same JSON.
    const std::string raw = "{\"name\":\"a\x7f\xc2\x9b"
                            "2J \xc3\xa9\xe4\xb8\xad\",\"n\":[1,\"\\u001b\"]}";
    const std::string shownJson = printableJson(raw);
    QCOMPARE(shown(shownJson), utf8("{\"name\":\"a\\u007f\\u009b2J \xc3\xa9\xe4\xb8\xad\",\"n\":[1,\"\\u001b\"]}"));
    const QJsonObject before = QJsonDocument::fromJson(QByteArray::fromStdString(raw)).object();
    const QJsonObject after = QJsonDocument::fromJson(QByteArray::fromStdString(shownJson)).object();
    QVERIFY(!before.isEmpty());
    QCOMPARE(after, before);
    QCOMPARE(after["name"].toString(), QString::fromUtf8("a\x7f\xc2\x9b"
                                                         "2J \xc3\xa9\xe4\xb8\xad"));
}

// Defect: `srigl bench --in 0` said "Value 0 not in range 0.000000 to 1797693134862315708...
// (309 digits) .000000"; the id and step checks named INT64_MAX.
void TestCliText::numberChecksSayTheRuleBriefly() {
    guarded([&] {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString db = dir.filePath("none.db");
        struct Case {
            QStringList args;
            QString message;
        };
        const QList<Case> cases = {
            {{"bench", "--in", "0"}, "--in: must be a positive whole number, got '0'"},
            {{"bench", "--out", "-3"}, "--out: must be a positive whole number, got '-3'"},
            {{"bench", "--batch", "8,0"}, "--batch: must be a positive whole number, got '0'"},
            {{"bench", "--in", "2.5"}, "--in: must be a positive whole number, got '2.5'"},
            {{"bench", "--delta-t", "0"}, "--delta-t: must be a positive whole number, got '0'"},
            {{"bench", "--run", "-1"}, "--run: must be a positive whole number, got '-1'"},
            {{"bench", "--training", "--conv", "3,8,3,-1"}, "--conv: must be a whole number, 0 or more, got '-1'"},
            {{"analyze", "init-variance", "--in", "0"}, "--in: must be a positive whole number, got '0'"},
            {{"analyze", "init-variance", "--out", "x"}, "--out: must be a positive whole number, got 'x'"},
            {{"train", "--timeout", "0"}, "--timeout: must be a positive number, got '0'"},
            {{"train", "--timeout", "-2.5"}, "--timeout: must be a positive number, got '-2.5'"},
            {{"sweep", "--resume", "-1"}, "--resume: must be a positive whole number, got '-1'"},
            // The light front end parses `runs` itself.
            {{"runs", "list", "--db", db, "--sweep", "-5"}, "--sweep: must be a positive whole number, got '-5'"},
            {{"runs", "render", "1", "--db", db, "--layer", "fc1", "--out", dir.filePath("a.png"), "--step", "-5"},
             "--step: must be a whole number, 0 or more, got '-5'"},
        };
        QList<QStringList> commands;
        for (const auto& c : cases) commands << c.args;
        const auto results = runParallel(commands);
        const QRegularExpression longNumber("\\d{20,}");
        for (int i = 0; i < cases.size(); ++i) {
            const QString what = cases[i].args.join(' ') + ": exit " + QString::number(results[i].exitCode) +
                                 ", stderr: " + visible(results[i].err.left(600));
            const QString err = QString::fromUtf8(results[i].err);
            QVERIFY2(results[i].exitCode == 2, qPrintable(what));
            QVERIFY2(err.contains(cases[i].message), qPrintable(what));
            QVERIFY2(!err.contains("e+308") && !err.contains("not in range"), qPrintable(what));
            QVERIFY2(!longNumber.match(err).hasMatch(), qPrintable(what));
            QVERIFY2(err.size() < 200, qPrintable(what));
        }
        QVERIFY(!QFile::exists(db));
        // A number past int64 says so in words (the message quotes the value, nothing longer).
        const auto huge = runParallel({{"bench", "--in", "99999999999999999999"}});
        QCOMPARE(huge[0].exitCode, 2);
        QVERIFY2(huge[0].err.contains("--in: must be a positive whole number, got '99999999999999999999' (too large)"),
                 qPrintable(visible(huge[0].err)));
    });
}

// The checks accept what they should: whole numbers from 1 (and "+8"), fractions for --timeout.
void TestCliText::validNumbersStillPass() {
    guarded([&] {
        const auto results = runParallel({
            {"analyze", "init-variance", "--in", "+8", "--out", "4", "--samples", "2", "--sparsity", "0.5", "--json"},
            // --timeout passes its check; the run then stops at the unknown key (nothing is trained).
            {"train", "--no-db", "--timeout", "0.5", "--set", "no_such_key=1"},
        });
        QVERIFY2(results[0].exitCode == 0, qPrintable(visible(results[0].err)));
        QVERIFY2(QJsonDocument::fromJson(results[0].out).object()["in"].toInteger() == 8,
                 qPrintable(visible(results[0].out)));
        QVERIFY2(results[1].exitCode == 2, qPrintable(visible(results[1].err)));
        QVERIFY2(results[1].err.contains("no_such_key") && !results[1].err.contains("--timeout"),
                 qPrintable(visible(results[1].err)));
    });
}

// Defect: `srigl runs list` printed stored names raw, so a name holding ESC [2J cleared the
// terminal of whoever listed the runs; likewise tags, notes, config values, sweep names and grids,
// and metric keys in the CSV export.
void TestCliText::storedControlCharactersAreShownNotObeyed() {
    guarded([&] {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString db = dir.filePath("runs.db");
        int64_t a = 0, b = 0;
        {
            srigl::sessions::RunStore store(db.toStdString());
            auto run = minimalRun("plain");
            run.method = "srigl";
            run.config = R"({"seed":1})";
            a = store.createRun(run);
            b = store.createRun(run);
        }
        const std::string ida = std::to_string(a), idb = std::to_string(b);
        {
            // What an older version or another tool could have written: ESC, TAB, newline, BEL, DEL
            // and U+009B (CSI) among ordinary UTF-8 (e-acute, a CJK character).
            RawDb raw(db.toStdString());
            raw.exec("UPDATE runs SET name = 'evil' || char(27) || '[2J' || char(9) || 'caf' || char(233) || ' ' || "
                     "char(20013) || char(155) || '31m' || char(127) || char(10) || 'x', "
                     "notes = 'n' || char(27) || ']0;owned' || char(7), "
                     "method = 'm' || char(27) || '[5m', "
                     "config = '{\"seed\":1,\"data_dir\":\"d\\u001b[31m' || char(155) || '\"}' WHERE id = " +
                     ida);
            raw.exec("INSERT INTO run_tags(run_id, tag) VALUES(" + ida + ", 't' || char(27) || '[8m')");
            raw.exec("INSERT INTO metrics(run_id, step, key, value) VALUES(" + ida +
                     ", 1, 'loss' || char(27) || "
                     "'[31m', 0.5)");
            raw.exec("INSERT INTO sweeps(name, created_at, status, base_config, grid) VALUES('sw' || char(27) || "
                     "'[2J', 1, 'finished', '{}', '[{\"key\":\"seed\",\"values\":[\"a\\u001b[1m\",2]}]')");
        }
        const QString qa = QString::fromStdString(ida), qb = QString::fromStdString(idb);
        const QList<QStringList> commands = {{"runs", "list", "--db", db},
                                             {"runs", "show", qa, "--db", db},
                                             {"runs", "sweeps", "--db", db},
                                             {"runs", "diff", qa, qb, "--db", db},
                                             {"runs", "export", qa, "--db", db},
                                             {"runs", "list", "--json", "--db", db},
                                             {"runs", "sweeps", "--json", "--db", db}};
        const auto results = runParallel(commands);
        for (int i = 0; i < commands.size(); ++i) {
            const QString what = commands[i].join(' ');
            QVERIFY2(results[i].exitCode == 0, qPrintable(what + ": " + visible(results[i].err)));
            const QString outControl = firstControl(results[i].out), errControl = firstControl(results[i].err);
            QVERIFY2(outControl.isEmpty(), qPrintable(what + " stdout: " + outControl));
            QVERIFY2(errControl.isEmpty(), qPrintable(what + " stderr: " + errControl));
        }
        // The table shows the name on its one line, every control as an escape, the text as it is.
        const QByteArray list = results[0].out;
        QVERIFY2(list.contains("evil\\x1b[2J\\x09caf\xc3\xa9 \xe4\xb8\xad\\u009b31m\\x7f\\x0ax"),
                 qPrintable(visible(list)));
        QVERIFY2(list.contains("#t\\x1b[8m") && list.contains("m\\x1b[5m"), qPrintable(visible(list)));
        QCOMPARE(list.trimmed().split('\n').size(), 3); // header and two runs

        // `runs show` prints JSON: escapes JSON reads back as the stored text.
        const QByteArray show = results[1].out;
        QVERIFY2(show.contains("\\u001b[2J") && show.contains("\\u009b") && show.contains("\\u007f"),
                 qPrintable(visible(show)));
        const QJsonObject showJson = QJsonDocument::fromJson(show).object();
        QCOMPARE(showJson["name"].toString(), QString::fromUtf8("evil\x1b[2J\tcaf\xc3\xa9 \xe4\xb8\xad\xc2\x9b"
                                                                "31m\x7f\nx"));
        QCOMPARE(showJson["notes"].toString(), QString::fromUtf8("n\x1b]0;owned\x07"));

        QVERIFY2(results[2].out.contains("sw\\x1b[2J") && results[2].out.contains("seed=a\\x1b[1m,2"),
                 qPrintable(visible(results[2].out)));
        QVERIFY2(results[3].out.contains("d\\x1b[31m\\u009b"), qPrintable(visible(results[3].out)));
        QVERIFY2(results[4].out.contains("metric,1,loss\\x1b[31m,0.5"), qPrintable(visible(results[4].out)));
        const QJsonArray listed = QJsonDocument::fromJson(results[5].out).array();
        QCOMPARE(listed.size(), 2);
        const QJsonArray sweeps = QJsonDocument::fromJson(results[6].out).array();
        QCOMPARE(sweeps.size(), 1);
        QCOMPARE(sweeps[0].toObject()["name"].toString(), QString::fromUtf8("sw\x1b[2J"));
    });
}

QTEST_GUILESS_MAIN(TestCliText)
#include "test_cli_text.moc"
