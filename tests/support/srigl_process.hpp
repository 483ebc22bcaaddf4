// Test helper for the CLI suites: run the built `srigl` as a user would and collect what it printed.
#pragma once

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStringList>

struct SriglResult {
    int exitCode = -1; // -1: crashed or timed out
    QString out;
    QString err;
};

inline SriglResult runSriglProcess(const QString& program, const QStringList& args, int timeoutMs = 300000) {
    QProcess p;
    p.start(program, args);
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

// The last line of stdout as a JSON object (the summary of --json commands).
inline QJsonObject lastJsonLine(const QString& out) {
    const auto lines = out.trimmed().split('\n');
    return QJsonDocument::fromJson(lines.last().toUtf8()).object();
}
