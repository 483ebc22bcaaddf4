// Checkpoints: a resumed run continues exactly like the uninterrupted one; bad checkpoints are
// refused with a clear error and leave files alone.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/training/trainer_internals.hpp"

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

QTEST_GUILESS_MAIN(TestResume)
#include "test_resume.moc"
