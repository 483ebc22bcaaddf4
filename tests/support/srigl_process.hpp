// Test helper for the CLI suites: run the built `srigl` as a user would and collect what it printed.
#pragma once

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>

struct SriglResult {
    int exitCode = -1; // -1: crashed or timed out
    QString out;
    QString err;
};

// OMP_WAIT_POLICY set: srigl does not re-execute itself to set it (halves the start-up time).
// SRIGL_DB stays as CTest sets it (a database in the build tree), never the user's own.
inline void prepareSriglProcess(QProcess& p) {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("OMP_WAIT_POLICY", "PASSIVE");
    p.setProcessEnvironment(env);
}

inline SriglResult finishSriglProcess(QProcess& p, int timeoutMs) {
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

inline SriglResult runSriglProcess(const QString& program, const QStringList& args, int timeoutMs = 300000) {
    QProcess p;
    prepareSriglProcess(p);
    p.start(program, args);
    p.closeWriteChannel(); // stdin is a closed pipe: no terminal
    return finishSriglProcess(p, timeoutMs);
}

// The last line of stdout as a JSON object (the summary of --json commands).
inline QJsonObject lastJsonLine(const QString& out) {
    const auto lines = out.trimmed().split('\n');
    return QJsonDocument::fromJson(lines.last().toUtf8()).object();
}
