// Test helper for suites that look at files byte by byte: a database path in a temporary folder,
// a whole file read back (to prove nothing changed it) and a file written whole.
#pragma once

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <string>

inline std::string dbIn(const QTemporaryDir& dir, const char* name = "runs.db") {
    return dir.filePath(name).toStdString();
}

// The file's bytes; empty when it cannot be read (or does not exist).
inline QByteArray fileBytes(const std::string& path) {
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

inline void writeFile(const std::string& path, const QByteArray& bytes) {
    QFile f(QString::fromStdString(path));
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(bytes), bytes.size());
}
