// Test helper: scripts/check_pytorch_export.py run on an export, in PyTorch alone (no SRigL code).
#pragma once

#include "tests/support/srigl_process.hpp"

#include <QJsonObject>
#include <QProcess>
#include <QString>

// The check script's JSON line, or in `error` why it did not pass (not finished within 2 minutes,
// a nonzero exit with its output).
inline QJsonObject checkInPyTorch(const QString& python, const QString& file, QString& error) {
    QProcess check;
    check.start(python, {QStringLiteral(QT_TESTCASE_SOURCEDIR "/../scripts/check_pytorch_export.py"), file});
    if (!check.waitForFinished(120000)) {
        error = "the check script did not finish";
        return {};
    }
    const QString out = QString::fromUtf8(check.readAllStandardOutput());
    if (check.exitCode() != 0) error = out + QString::fromUtf8(check.readAllStandardError());
    return lastJsonLine(out);
}
