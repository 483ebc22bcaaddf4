// Hostile input at the `srigl` door (issue 14): every oversized or malformed input is a clean exit 2
// with a message naming the file, never a signal, and nothing reaches the database.
#include <QtTest>

#include "tests/support/srigl_process.hpp"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

namespace {

const QString kSrigl = QStringLiteral(SRIGL_TEST_BINARY_DIR "/bin/srigl");

bool writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

} // namespace

class TestCliInputLimits : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void deeplyNestedConfigExitsTwo();
};

// Defect 3: a 200 KB config of JSON nested 100,000 deep ended in SIGSEGV (exit 139).
void TestCliInputLimits::deeplyNestedConfigExitsTwo() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString config = dir.filePath("deep.json");
    const int depth = 100000;
    QVERIFY(writeBytes(config, "{\"name\": " + QByteArray(depth, '[') + QByteArray(depth, ']') + "}"));
    const QString db = dir.filePath("r.db");

    const SriglResult r = runSriglProcess(kSrigl, {"train", "--config", config, "--db", db}, 120000);
    QVERIFY2(r.exitCode == 2, qPrintable(QString("exit %1 (-1: signal), stderr: %2").arg(r.exitCode).arg(r.err.left(500))));
    QVERIFY2(r.err.contains(config), qPrintable(r.err.left(500)));
    QVERIFY2(r.err.contains("deeper than 64"), qPrintable(r.err.left(500)));
    QVERIFY2(r.err.size() < 1000, qPrintable(r.err.left(1000)));
    QVERIFY2(!QFileInfo::exists(db), "the refused run created its database");
}

QTEST_GUILESS_MAIN(TestCliInputLimits)
#include "test_cli_input_limits.moc"
