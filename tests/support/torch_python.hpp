// Test helper for suites whose fixtures PyTorch itself writes: Debian's python3 with python3-torch
// (the pyenv python3 on PATH has no torch), and the checkpoints of tests/support/pytorch_checkpoints.py.
#pragma once

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

// $SRIGL_TORCH_PYTHON, else /usr/bin/python3, when it has the torch package; empty otherwise. Looks
// the package up without importing it (an import costs over a second).
inline QString torchPython() {
    QString python = QProcessEnvironment::systemEnvironment().value("SRIGL_TORCH_PYTHON", "/usr/bin/python3");
    if (!QFile::exists(python)) return {};
    QProcess p;
    p.start(python, {"-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"});
    if (!p.waitForFinished(60000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) return {};
    return python;
}

// Runs `python args...`; returns "" on success, else what it printed.
inline QString runPython(const QString& python, const QStringList& args) {
    QProcess p;
    p.start(python, args);
    p.closeWriteChannel();
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        return "python " + args.join(' ') + " failed: " + QString::fromUtf8(p.readAllStandardError()) +
               QString::fromUtf8(p.readAllStandardOutput());
    return {};
}

// The files a fixture script of tests/support writes (`script FOLDER`), written once per version of
// the script into the build tree and shared by every test process: a folder named by the script's
// hash, filled aside and renamed into place, so parallel tests never see half of it. Empty when
// `python` is; qFatal when the script fails.
inline QString pythonFixtures(const QString& python, const QString& scriptName) {
    if (python.isEmpty()) return {};
    const QString script = QStringLiteral(QT_TESTCASE_SOURCEDIR "/support/") + scriptName;
    QFile file(script);
    if (!file.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(script));
    const QString hash = QString::fromLatin1(QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha1).toHex().left(12));
    const QString folder = QStringLiteral(SRIGL_TEST_BINARY_DIR "/test-fixtures/") + QFileInfo(scriptName).baseName() + "-" + hash;
    if (QFile::exists(folder + "/done")) return folder;
    const QString aside = folder + ".part-" + QString::number(QCoreApplication::applicationPid());
    QDir(aside).removeRecursively();
    const QString error = runPython(python, {script, aside});
    if (!error.isEmpty()) qFatal("%s", qPrintable(error));
    QFile done(aside + "/done");
    if (!done.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(done.fileName()));
    done.close();
    if (!QDir().rename(aside, folder)) QDir(aside).removeRecursively(); // another test process was first
    if (!QFile::exists(folder + "/done")) qFatal("no fixtures in %s", qPrintable(folder));
    return folder;
}

// The fixture checkpoints (see pytorch_checkpoints.py for what each holds).
inline QString pytorchFixtures(const QString& python) { return pythonFixtures(python, QStringLiteral("pytorch_checkpoints.py")); }

// The fixture TorchScript modules (see torchscript_models.py for what each holds).
inline QString torchscriptFixtures(const QString& python) { return pythonFixtures(python, QStringLiteral("torchscript_models.py")); }

// Skips the test (with the reason) when no python3 with torch is installed; CI installs
// python3-torch (scripts/setup.sh), so there these tests run.
#define SRIGL_REQUIRE_TORCH_PYTHON(python)                                                                       \
    do {                                                                                                       \
        if ((python).isEmpty())                                                                                \
            QSKIP("needs Debian's python3 with torch (apt install python3-torch, or set SRIGL_TORCH_PYTHON) "  \
                  "to write the PyTorch checkpoints this test reads");                                         \
    } while (false)
