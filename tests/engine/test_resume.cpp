// Checkpoints: a resumed run continues exactly like the uninterrupted one; bad checkpoints are
// refused with a clear error and leave files alone.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/checkpoint_file.hpp"
#include "engine/runtime/freed_memory.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer_internals.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>

using namespace srigl;

namespace {

RunConfig resumableRun(const std::string& method, const std::string& optimizer) {
    RunConfig c;
    c.synthetic_train = 1024;
    c.synthetic_test = 256;
    c.hidden = "128,64";
    c.method = method;
    c.optimizer = optimizer;
    c.lr = optimizer == "adamw" ? 1e-3 : 0.05;
    c.sparsity = 0.9;
    c.batch_size = 32;
    c.epochs = 2; // 64 steps
    c.delta_t = 10;
    c.grad_accumulation = 3;
    c.lr_schedule = "cosine";
    c.threads = 1;
    return c;
}

struct Trace {
    std::vector<double> losses;
    std::vector<torch::Tensor> masks;
    std::vector<torch::Tensor> weights;
};

Trace finish(Trainer& t) {
    Trace tr;
    while (t.trainStep()) tr.losses.push_back(t.lastLoss());
    for (auto& st : t.internals().layers) {
        tr.masks.push_back(st.layer->mask.clone());
        tr.weights.push_back(st.layer->weight.detach().clone());
    }
    return tr;
}

void checkResumeExact(const std::string& method, const std::string& optimizer, int64_t stopAt) {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("run.ckpt").toStdString();
    RunConfig c = resumableRun(method, optimizer);

    Trainer full(c);
    for (int64_t i = 0; i < stopAt; ++i) QVERIFY(full.trainStep());
    Trace reference = finish(full);

    Trainer first(c);
    for (int64_t i = 0; i < stopAt; ++i) QVERIFY(first.trainStep());
    first.saveCheckpoint(ckpt);

    Trainer resumed(c);
    resumed.loadCheckpoint(ckpt);
    QCOMPARE(resumed.step(), stopAt);
    Trace continued = finish(resumed);

    QCOMPARE(continued.losses.size(), reference.losses.size());
    for (size_t i = 0; i < reference.losses.size(); ++i)
        QVERIFY2(std::fabs(continued.losses[i] - reference.losses[i]) <= 1e-5 * std::max(1.0, std::fabs(reference.losses[i])),
                 qPrintable(QString("step %1: %2 vs %3").arg(stopAt + 1 + i).arg(continued.losses[i]).arg(reference.losses[i])));
    for (size_t i = 0; i < reference.masks.size(); ++i) {
        QVERIFY2(torch::equal(continued.masks[i], reference.masks[i]), "masks differ after resume");
        QVERIFY(torch::allclose(continued.weights[i], reference.weights[i], 1e-5, 1e-6));
    }
}

} // namespace

class TestResume : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sriglSgdResumesExactly();
    void sriglResumesInsideAccumulationWindow();
    void riglAdamwResumesExactly();
    void setResumesExactly();
    void configStoredInCheckpoint();
    void corruptCheckpointIsRefused();
    void missingCheckpointIsRefused();
    void mismatchedConfigIsRefused();
    void checkpointWriteIsAtomic();
    void tamperedCheckpointIsRefused();
    void unwritableCheckpointDirIsRejectedUpFront();
    void checkpointCarriesRunIdentity();
    void everyDamagedByteIsRefused();
    void fullDiskKeepsPreviousCheckpoint();
    void checkpointPathMustBeNewOrACheckpoint();
    void legacyCheckpointStillLoads();
    void shortScalarsAreRefused();
    void concurrentWriterIsRefusedNotTorn();
    void anotherRunsCheckpointIsNeverReplaced();
    void streamedCheckpointIsTheEncodedFile();
    void streamedCheckpointFailureKeepsThePreviousFile();
    void chunkedVerificationAgreesWithTheWholeFile();
    void loadingKeepsFreedMemoryAgainAfterwards();
};

void TestResume::sriglSgdResumesExactly() { checkResumeExact("srigl", "sgd", 25); }
void TestResume::sriglResumesInsideAccumulationWindow() { checkResumeExact("srigl", "sgd", 29); }
void TestResume::riglAdamwResumesExactly() { checkResumeExact("rigl", "adamw", 35); }
void TestResume::setResumesExactly() { checkResumeExact("set", "sgd", 31); }

void TestResume::configStoredInCheckpoint() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("a.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "sgd");
    c.name = "stored";
    Trainer t(c);
    t.trainStep();
    t.saveCheckpoint(ckpt);
    RunConfig back = readCheckpointConfig(ckpt);
    QCOMPARE(QString::fromStdString(configToJson(back)), QString::fromStdString(configToJson(c)));
}

void TestResume::corruptCheckpointIsRefused() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("bad.ckpt").toStdString();
    {
        std::ofstream out(ckpt, std::ios::binary);
        out << "this is not a checkpoint";
    }
    Trainer t(resumableRun("srigl", "sgd"));
    QVERIFY_EXCEPTION_THROWN(t.loadCheckpoint(ckpt), CheckpointError);
    QVERIFY_EXCEPTION_THROWN(readCheckpointConfig(ckpt), CheckpointError);
    std::ifstream in(ckpt);
    std::string text;
    std::getline(in, text);
    QCOMPARE(QString::fromStdString(text), QString("this is not a checkpoint"));
}

void TestResume::missingCheckpointIsRefused() {
    Trainer t(resumableRun("srigl", "sgd"));
    try {
        t.loadCheckpoint("/nonexistent/dir/x.ckpt");
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY(QString(e.what()).contains("/nonexistent/dir/x.ckpt"));
    }
}

void TestResume::mismatchedConfigIsRefused() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("m.ckpt").toStdString();
    Trainer t(resumableRun("srigl", "sgd"));
    t.trainStep();
    t.saveCheckpoint(ckpt);
    RunConfig other = resumableRun("rigl", "sgd");
    Trainer u(other);
    try {
        u.loadCheckpoint(ckpt);
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY(QString(e.what()).contains("method"));
    }
}

void TestResume::checkpointWriteIsAtomic() {
    QTemporaryDir dir;
    Trainer t(resumableRun("srigl", "sgd"));
    t.trainStep();
    // A directory that does not exist: nothing may be left behind, and the error names the path.
    const std::string bad = dir.filePath("missing/sub/x.ckpt").toStdString();
    QVERIFY_EXCEPTION_THROWN(t.saveCheckpoint(bad), CheckpointError);
    const std::string good = dir.filePath("x.ckpt").toStdString();
    t.saveCheckpoint(good);
    QVERIFY(QFile::exists(QString::fromStdString(good)));
    QVERIFY(!QFile::exists(QString::fromStdString(good + ".tmp")));
}

void TestResume::tamperedCheckpointIsRefused() {
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.ckpt").toStdString();
    const std::string bad = dir.filePath("bad.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "sgd");
    c.sparse_compute = "masked_dense"; // the tampering writes into the dense weight
    Trainer t(c);
    for (int i = 0; i < 12; ++i) t.trainStep();
    t.saveCheckpoint(good);
    {
        // A weight where the mask is off: the file parses, but the state breaks W == W * M.
        torch::NoGradGuard noGrad;
        auto& st = t.internals().layers[0];
        auto off = (~st.layer->maskMatrix()).nonzero()[0];
        st.layer->weightMatrix()[off[0].item<int64_t>()][off[1].item<int64_t>()] = 1.0f;
        t.saveCheckpoint(bad);
    }
    Trainer u(c);
    try {
        u.loadCheckpoint(bad);
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("outside its mask"), e.what());
    }
    Trainer v(c);
    v.loadCheckpoint(good);
    QCOMPARE(v.step(), int64_t{12});
}

void TestResume::unwritableCheckpointDirIsRejectedUpFront() {
    RunConfig c = resumableRun("srigl", "sgd");
    c.checkpoint = "/nonexistent/dir/run.ckpt";
    try {
        Trainer t(c);
        QFAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        QCOMPARE(QString::fromStdString(e.key()), QString("checkpoint"));
    }
}

namespace {

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeAll(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace

void TestResume::checkpointCarriesRunIdentity() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("id.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "sgd");
    Trainer t(c);
    t.setRunIdentity("0123456789abcdef0123456789abcdef");
    for (int i = 0; i < 3; ++i) t.trainStep();
    t.saveCheckpoint(ckpt);
    Trainer u(c);
    const CheckpointHeader header = u.loadCheckpoint(ckpt);
    QCOMPARE(header.runUuid, std::string("0123456789abcdef0123456789abcdef"));
    QCOMPARE(header.step, int64_t(3));
    QVERIFY(!header.legacy);
}

void TestResume::everyDamagedByteIsRefused() {
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.ckpt").toStdString();
    const std::string bad = dir.filePath("bad.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "adamw"); // optimizer moments and gradient sums in the file
    Trainer t(c);
    for (int i = 0; i < 5; ++i) t.trainStep();
    t.saveCheckpoint(good);
    const std::string bytes = readAll(good);
    // Header fields, the start of the archive, and positions spread over all of it.
    std::vector<size_t> positions = {0, 8, 12, 20, 40, 60, 70, 80};
    for (int i = 1; i <= 40; ++i) positions.push_back(bytes.size() * static_cast<size_t>(i) / 41);
    positions.push_back(bytes.size() - 1);
    for (size_t pos : positions) {
        std::string damaged = bytes;
        damaged[pos] = static_cast<char>(damaged[pos] ^ 0x04);
        writeAll(bad, damaged);
        Trainer u(c);
        try {
            u.loadCheckpoint(bad);
            QFAIL(qPrintable(QString("a flipped byte at %1 of %2 was accepted").arg(pos).arg(bytes.size())));
        } catch (const CheckpointError& e) {
            QVERIFY2(QString(e.what()).contains(QString::fromStdString(bad)), e.what());
        }
    }
    writeAll(bad, bytes.substr(0, bytes.size() - 100)); // truncated
    Trainer u(c);
    QVERIFY_EXCEPTION_THROWN(u.loadCheckpoint(bad), CheckpointError);
    QVERIFY_EXCEPTION_THROWN(readCheckpointConfig(bad), CheckpointError);
}

void TestResume::fullDiskKeepsPreviousCheckpoint() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("full.ckpt").toStdString();
    Trainer t(resumableRun("srigl", "sgd"));
    t.trainStep();
    t.saveCheckpoint(ckpt);
    const std::string before = readAll(ckpt);
    t.trainStep();
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    QVERIFY(QFile::link("/dev/full", QString::fromStdString(ckpt + ".tmp")));
    try {
        t.saveCheckpoint(ckpt);
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("No space left on device"), e.what());
        QVERIFY2(QString(e.what()).contains(QString::fromStdString(ckpt)), e.what());
    }
    QCOMPARE(readAll(ckpt), before);
    QVERIFY(!QFileInfo(QString::fromStdString(ckpt + ".tmp")).isSymLink()); // cleaned up
    t.saveCheckpoint(ckpt); // room again: works
    Trainer u(resumableRun("srigl", "sgd"));
    u.loadCheckpoint(ckpt);
    QCOMPARE(u.step(), int64_t(2));
}

void TestResume::checkpointPathMustBeNewOrACheckpoint() {
    QTemporaryDir dir;
    auto refusal = [](const std::string& path) -> QString {
        RunConfig c = resumableRun("srigl", "sgd");
        c.checkpoint = path;
        try {
            Trainer t(c);
        } catch (const ConfigError& e) {
            return e.key() == "checkpoint" ? QString(e.what()) : QString("wrong key: ") + e.what();
        }
        return {};
    };
    QVERIFY(refusal(dir.path().toStdString()).contains("folder"));
    const std::string foreign = dir.filePath("thesis.tex").toStdString();
    writeAll(foreign, "\\documentclass{article}");
    QVERIFY(refusal(foreign).contains("not a SRigL Studio checkpoint"));
    QCOMPARE(readAll(foreign), std::string("\\documentclass{article}"));
    QVERIFY(refusal("/dev/null").contains("not a regular file"));
    // New, empty and existing checkpoint files are fine.
    QVERIFY(refusal(dir.filePath("new.ckpt").toStdString()).isEmpty());
    const std::string empty = dir.filePath("empty.ckpt").toStdString();
    writeAll(empty, "");
    QVERIFY(refusal(empty).isEmpty());
    const std::string existing = dir.filePath("existing.ckpt").toStdString();
    Trainer t(resumableRun("srigl", "sgd"));
    t.saveCheckpoint(existing);
    QVERIFY(refusal(existing).isEmpty());
    // Setting the file later (a recorded run's default) is checked the same way.
    QVERIFY_EXCEPTION_THROWN(t.setCheckpointFile(foreign, 10), ConfigError);
}

void TestResume::legacyCheckpointStillLoads() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("new.ckpt").toStdString();
    const std::string legacy = dir.filePath("legacy.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "sgd");
    Trainer t(c);
    for (int i = 0; i < 4; ++i) t.trainStep();
    t.saveCheckpoint(ckpt);
    // Before the container, a checkpoint was the bare Torch archive.
    writeAll(legacy, readCheckpointFile(ckpt).payload);
    QVERIFY(looksLikeCheckpoint(legacy));
    Trainer u(c);
    const CheckpointHeader header = u.loadCheckpoint(legacy);
    QVERIFY(header.legacy);
    QCOMPARE(u.step(), int64_t(4));
    // Any other zip is not a checkpoint.
    const std::string zip = dir.filePath("photos.zip").toStdString();
    writeAll(zip, std::string("PK\x03\x04", 4) + std::string(22, '\0') + std::string("\x09\x00\x00\x00", 4) + "photo.jpg");
    QVERIFY(!looksLikeCheckpoint(zip));
}

// A crafted checkpoint whose checksums pass but whose "scalars" (read by pointer, seven of them) are
// fewer: refused with a clear error, never read past the tensor's end.
void TestResume::shortScalarsAreRefused() {
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.ckpt").toStdString();
    const std::string bad = dir.filePath("short.ckpt").toStdString();
    RunConfig c = resumableRun("srigl", "sgd");
    Trainer t(c);
    for (int i = 0; i < 12; ++i) t.trainStep();
    t.saveCheckpoint(good);
    torch::serialize::InputArchive in;
    const CheckpointHeader header = loadArchive(in, good);
    torch::serialize::OutputArchive out;
    for (const std::string& key : in.keys()) {
        c10::IValue value;
        QVERIFY(in.try_read(key, value));
        out.write(key, key == "scalars" ? c10::IValue(torch::tensor({12.0, 0.0, 0.0}, torch::kDouble)) : value);
    }
    saveArchiveAtomically(out, bad, header);
    Trainer u(c);
    try {
        u.loadCheckpoint(bad);
        QFAIL("a checkpoint with three scalars was accepted");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("scalars"), e.what());
    }
    Trainer v(c);
    v.loadCheckpoint(good);
    QCOMPARE(v.step(), int64_t{12});
}


// Two runs given one `checkpoint` file, writing at the same moment: the second finds the temporary
// file locked and fails clearly; the checkpoint in place stays whole, and after the first writer is
// done (its lock released) writing works again.
void TestResume::concurrentWriterIsRefusedNotTorn() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("shared.ckpt").toStdString();
    const std::string first = encodeCheckpoint(CheckpointHeader{"", 1}, std::string(1000, 'a'));
    writeFileAtomically(ckpt, first);
    // The other writer, half-way through: its temporary file open and locked.
    const int other = ::open((ckpt + ".tmp").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    QVERIFY(other >= 0);
    QCOMPARE(::flock(other, LOCK_EX | LOCK_NB), 0);
    QVERIFY(::write(other, "half", 4) == 4);
    try {
        writeFileAtomically(ckpt, encodeCheckpoint(CheckpointHeader{"", 2}, std::string(1000, 'b')));
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("another process is writing it right now"), e.what());
    }
    QCOMPARE(readAll(ckpt), first);
    QCOMPARE(readAll(ckpt + ".tmp"), std::string("half")); // the other writer's file is left alone
    ::close(other); // that writer died: its temporary file is stale, and taken over
    const std::string second = encodeCheckpoint(CheckpointHeader{"", 2}, std::string(10, 'c'));
    writeFileAtomically(ckpt, second);
    QCOMPARE(readAll(ckpt), second); // shorter than the stale file: truncated, not overlaid
    QVERIFY(!QFile::exists(QString::fromStdString(ckpt + ".tmp")));
}

// A checkpoint of another recorded run that appeared at the path after this run started (two runs
// started at once with one `checkpoint`) is kept: the write fails and says whose file it is.
void TestResume::anotherRunsCheckpointIsNeverReplaced() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("taken.ckpt").toStdString();
    const std::string theirs = encodeCheckpoint(CheckpointHeader{"run-a", 5}, std::string(100, 'a'));
    writeFileAtomically(ckpt, theirs);
    try {
        writeFileAtomically(ckpt, encodeCheckpoint(CheckpointHeader{"run-b", 3}, std::string(100, 'b')));
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("another run (identity run-a)"), e.what());
    }
    QCOMPARE(readAll(ckpt), theirs);
    QVERIFY(!QFile::exists(QString::fromStdString(ckpt + ".tmp")));
    // The same run, or a run that is not recorded (no identity), still replaces its own file.
    const std::string next = encodeCheckpoint(CheckpointHeader{"run-a", 6}, std::string(100, 'n'));
    writeFileAtomically(ckpt, next);
    QCOMPARE(readAll(ckpt), next);
    const std::string unrecorded = encodeCheckpoint(CheckpointHeader{"", 7}, std::string(100, 'u'));
    writeFileAtomically(ckpt, unrecorded);
    QCOMPARE(readAll(ckpt), unrecorded);
}

// The payload written piece by piece (pieces smaller and larger than the writer's 1 MiB buffer) gives
// the same bytes as the in-memory encoding, so every reader and older build reads it.
void TestResume::streamedCheckpointIsTheEncodedFile() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("streamed.ckpt").toStdString();
    std::string payload;
    for (size_t i = 0; payload.size() < (size_t{5} << 20); ++i) payload += std::string(1 + (i * 7919) % 300000, char('a' + i % 26));
    const CheckpointHeader header{"run-s", 42};
    writeCheckpointAtomically(ckpt, header, [&](const PayloadWriter& write) {
        for (size_t at = 0, i = 0; at < payload.size(); ++i) {
            const size_t n = std::min(payload.size() - at, i % 3 == 0 ? size_t{3} << 20 : size_t{1} + i * 13 % 5000);
            write(payload.data() + at, n);
            at += n;
        }
    });
    QVERIFY(readAll(ckpt) == encodeCheckpoint(header, payload));
    QVERIFY(!QFile::exists(QString::fromStdString(ckpt + ".tmp")));
    // And a real trainer's checkpoint, streamed, resumes (the other tests here all go this way too).
    Trainer t(resumableRun("srigl", "sgd"));
    t.trainStep();
    t.saveCheckpoint(ckpt);
    const CheckpointBytes file = readCheckpointFile(ckpt);
    QCOMPARE(file.header.step, int64_t{1});
}

// A serializer that throws half-way, a disk that fills half-way (a file-size limit: the first
// megabytes are written, then every write fails) and another run's checkpoint at the path all leave
// the previous checkpoint as it was, and no temporary file.
void TestResume::streamedCheckpointFailureKeepsThePreviousFile() {
    QTemporaryDir dir;
    const std::string ckpt = dir.filePath("kept.ckpt").toStdString();
    const std::string before = encodeCheckpoint(CheckpointHeader{"run-k", 1}, std::string(1000, 'p'));
    writeFileAtomically(ckpt, before);
    const std::string big(size_t{4} << 20, 'x');
    auto halfThenThrow = [&](const PayloadWriter& write) {
        write(big.data(), big.size());
        throw CheckpointError("the serializer gave up");
    };
    QVERIFY_EXCEPTION_THROWN(writeCheckpointAtomically(ckpt, CheckpointHeader{"run-k", 2}, halfThenThrow), CheckpointError);
    QCOMPARE(readAll(ckpt), before);
    QVERIFY(!QFile::exists(QString::fromStdString(ckpt + ".tmp")));

    struct rlimit saved {};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    const auto oldHandler = std::signal(SIGXFSZ, SIG_IGN); // the write returns EFBIG instead
    struct rlimit limited = saved;
    limited.rlim_cur = 2 << 20;
    ::setrlimit(RLIMIT_FSIZE, &limited);
    QString message;
    try {
        writeCheckpointAtomically(ckpt, CheckpointHeader{"run-k", 3}, [&](const PayloadWriter& write) {
            for (int i = 0; i < 4; ++i) write(big.data(), big.size()); // every call returns: failures are held
        });
    } catch (const CheckpointError& e) {
        message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, oldHandler);
    QVERIFY2(message.contains("write failed") && message.contains(QString::fromStdString(ckpt)), qPrintable(message));
    QCOMPARE(readAll(ckpt), before);
    QVERIFY(!QFile::exists(QString::fromStdString(ckpt + ".tmp")));

    try {
        writeCheckpointAtomically(ckpt, CheckpointHeader{"run-other", 4}, [&](const PayloadWriter& write) { write("z", 1); });
        QFAIL("expected CheckpointError");
    } catch (const CheckpointError& e) {
        QVERIFY2(QString(e.what()).contains("another run (identity run-k)"), e.what());
    }
    QCOMPARE(readAll(ckpt), before);
}

// verifyCheckpointFile (what loading reads: 4 MiB at a time, never the whole file) accepts and
// refuses exactly what decodeCheckpoint (the whole file in memory) does, with damage in any chunk.
void TestResume::chunkedVerificationAgreesWithTheWholeFile() {
    std::string payload(size_t{9} << 20, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 2654435761u) >> 13);
    const std::string file = encodeCheckpoint(CheckpointHeader{"run-v", 77}, payload);
    auto chunked = [](const std::string& bytes) {
        return verifyCheckpointFile(
            bytes.size(),
            [&bytes](uint64_t at, uint8_t* out, size_t n) {
                QVERIFY(at + n <= bytes.size());
                std::memcpy(out, bytes.data() + at, n);
            },
            "v.ckpt");
    };
    const CheckpointLayout layout = chunked(file);
    const CheckpointBytes whole = decodeCheckpoint(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "v.ckpt");
    QCOMPARE(layout.header.runUuid, whole.header.runUuid);
    QCOMPARE(layout.header.step, int64_t{77});
    QCOMPARE(layout.payloadStart, static_cast<uint64_t>(file.size() - payload.size()));
    QVERIFY(!layout.header.legacy);
    auto message = [](const std::function<void()>& f) -> std::string {
        try {
            f();
        } catch (const CheckpointError& e) {
            return e.what();
        }
        return "accepted";
    };
    const size_t body = file.size() - payload.size();
    for (size_t pos : {size_t{0}, size_t{20}, body - 1, body, body + (size_t{4} << 20) + 5, file.size() - 1}) {
        std::string damaged = file;
        damaged[pos] = static_cast<char>(damaged[pos] ^ 0x10);
        const std::string a = message([&] { chunked(damaged); });
        const std::string b = message([&] { decodeCheckpoint(reinterpret_cast<const uint8_t*>(damaged.data()), damaged.size(), "v.ckpt"); });
        QVERIFY2(a != "accepted" && a == b, qPrintable(QString::fromStdString(a + " | " + b)));
    }
    for (size_t cut : {size_t{3}, size_t{50}, file.size() - 1}) {
        const std::string shortened = file.substr(0, cut);
        const std::string a = message([&] { chunked(shortened); });
        const std::string b = message([&] { decodeCheckpoint(reinterpret_cast<const uint8_t*>(shortened.data()), shortened.size(), "v.ckpt"); });
        QVERIFY2(a != "accepted" && a == b, qPrintable(QString::fromStdString(a + " | " + b)));
    }
}

// Loading runs with malloc's usual release policy (its peak is handed back), and the run keeps freed
// memory for its steps again afterwards, whether the load succeeded or failed.
void TestResume::loadingKeepsFreedMemoryAgainAfterwards() {
    if (std::getenv("GLIBC_TUNABLES") && QByteArray(std::getenv("GLIBC_TUNABLES")).contains("glibc.malloc.mmap"))
        QSKIP("the user's malloc policy stands (freed_memory.hpp)");
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.ckpt").toStdString();
    const std::string bad = dir.filePath("bad.ckpt").toStdString();
    const RunConfig c = resumableRun("srigl", "sgd");
    {
        Trainer t(c);
        t.trainStep();
        t.saveCheckpoint(good);
    }
    writeAll(bad, readAll(good).substr(0, 200));
    // One trainer at a time: each keeps freed memory through its own KeptFreedMemory.
    QVERIFY(!freedMemoryKept());
    {
        Trainer u(c);
        QVERIFY(freedMemoryKept()); // a small run on this machine keeps freed memory (trainer.cpp)
        u.loadCheckpoint(good);
        QVERIFY(freedMemoryKept());
        QCOMPARE(u.step(), int64_t{1});
    }
    {
        Trainer v(c);
        QVERIFY_EXCEPTION_THROWN(v.loadCheckpoint(bad), CheckpointError);
        QVERIFY(freedMemoryKept());
    }
    QVERIFY(!freedMemoryKept());
}

QTEST_GUILESS_MAIN(TestResume)
#include "test_resume.moc"
