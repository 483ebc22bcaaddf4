// Tests of the built-in synthetic_cifar dataset: CIFAR-10's layout, determinism, balance, its
// normalisation statistics, the loader and config entry points, and that it is learnable but not
// trivially so.
#include <torch/torch.h> // before Qt, whose macros collide with Torch's headers

#include <QtTest>

#include "engine/config/run_config.hpp"
#include "engine/data/batch_sampler.hpp"
#include "engine/data/cifar_reader.hpp"
#include "engine/data/dataset.hpp"
#include "engine/data/synthetic_cifar.hpp"
#include "engine/errors.hpp"
#include "engine/models/sparse_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

using namespace srigl;

namespace {

// Every image of a differs from the image at the same index of b: the streams share no samples.
bool allImagesDiffer(const torch::Tensor& a, const torch::Tensor& b) {
    return a.ne(b).flatten(1).any(1).all().item<bool>();
}

// Restores LibTorch's thread count when a test that changes it ends, however it ends.
class ThreadCountGuard {
public:
    ThreadCountGuard() : saved_(at::get_num_threads()) {}
    ~ThreadCountGuard() { at::set_num_threads(saved_); }

private:
    int saved_;
};

} // namespace

class TestSyntheticCifar : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matchesCifarLayout();
    void repeatsForSameSeed();
    void ignoresThreadCount();
    void variesAcrossSeedsAndSplits();
    void balancesClasses();
    void spreadsPixelValues();
    void loadsWithTrainStatistics();
    void normalisesToFiniteBatches();
    void rejectsBadCounts();
    void isAcceptedWhereverCifarIs();
    void isLearnableButNotTrivial();
};

void TestSyntheticCifar::matchesCifarLayout() {
    // One CIFAR-10 record through the real reader: what every cifar10 model is fed.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("one.bin")).toStdString();
    {
        std::ofstream out(path, std::ios::binary);
        std::vector<char> record(3073, char(7));
        record[0] = 3;
        out.write(record.data(), std::streamsize(record.size()));
    }
    const DatasetSplit cifar = readCifarBatch(path);
    const DatasetSplit s = generateSyntheticCifar(200, 1, SyntheticSplit::Train);

    QCOMPARE(s.images.scalar_type(), cifar.images.scalar_type());
    QCOMPARE(s.labels.scalar_type(), cifar.labels.scalar_type());
    QCOMPARE(s.images.scalar_type(), torch::kUInt8);
    QCOMPARE(s.labels.scalar_type(), torch::kLong);
    QCOMPARE(s.images.sizes().vec(), (std::vector<int64_t>{200, 3, 32, 32}));
    QCOMPARE(s.images.sizes().slice(1).vec(), cifar.images.sizes().slice(1).vec());
    QCOMPARE(s.labels.sizes().vec(), (std::vector<int64_t>{200}));
    QVERIFY(s.images.is_contiguous());
    QCOMPARE(s.size(), int64_t(200));
    // Labels cycle 0..9, so any prefix is balanced.
    QVERIFY(torch::equal(s.labels, torch::arange(200, torch::kLong).remainder(10)));

    const DatasetSplit none = generateSyntheticCifar(0, 1, SyntheticSplit::Train);
    QCOMPARE(none.images.sizes().vec(), (std::vector<int64_t>{0, 3, 32, 32}));
    QCOMPARE(none.size(), int64_t(0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generateSyntheticCifar(-1, 1, SyntheticSplit::Train));
}

void TestSyntheticCifar::repeatsForSameSeed() {
    const DatasetSplit a = generateSyntheticCifar(300, 11, SyntheticSplit::Train);
    const DatasetSplit b = generateSyntheticCifar(300, 11, SyntheticSplit::Train);
    QVERIFY(torch::equal(a.images, b.images));
    QVERIFY(torch::equal(a.labels, b.labels));
    // Sample i does not depend on how many are generated: a bigger split extends a smaller one.
    const DatasetSplit prefix = generateSyntheticCifar(120, 11, SyntheticSplit::Train);
    QVERIFY(torch::equal(prefix.images, a.images.slice(0, 0, 120)));
}

void TestSyntheticCifar::ignoresThreadCount() {
    const ThreadCountGuard guard;
    at::set_num_threads(1);
    const DatasetSplit one = generateSyntheticCifar(2500, 4, SyntheticSplit::Test);
    at::set_num_threads(4);
    const DatasetSplit four = generateSyntheticCifar(2500, 4, SyntheticSplit::Test);
    QVERIFY(torch::equal(one.images, four.images));
}

void TestSyntheticCifar::variesAcrossSeedsAndSplits() {
    const DatasetSplit a = generateSyntheticCifar(100, 11, SyntheticSplit::Train);
    const DatasetSplit b = generateSyntheticCifar(100, 12, SyntheticSplit::Train);
    const DatasetSplit test = generateSyntheticCifar(100, 11, SyntheticSplit::Test);
    QVERIFY(allImagesDiffer(a.images, b.images));
    QVERIFY(allImagesDiffer(a.images, test.images));
    // Within a split no two neighbours (same class ten apart, or different classes) coincide.
    QVERIFY(allImagesDiffer(a.images.slice(0, 0, 90), a.images.slice(0, 10, 100)));
    QVERIFY(allImagesDiffer(a.images.slice(0, 0, 99), a.images.slice(0, 1, 100)));
}

void TestSyntheticCifar::balancesClasses() {
    const DatasetSplit s = generateSyntheticCifar(1000, 3, SyntheticSplit::Test);
    const auto counts = torch::bincount(s.labels, {}, 10);
    QCOMPARE(counts.size(0), int64_t(10));
    for (int c = 0; c < 10; ++c) QCOMPARE(counts[c].item<int64_t>(), int64_t(100));
    QCOMPARE(s.labels.min().item<int64_t>(), int64_t(0));
    QCOMPARE(s.labels.max().item<int64_t>(), int64_t(9));
}

void TestSyntheticCifar::spreadsPixelValues() {
    const DatasetSplit s = generateSyntheticCifar(500, 8, SyntheticSplit::Train);
    const auto x = s.images.to(torch::kFloat).div(255); // [N, 3, 32, 32]
    // Pictures, not flat fields: every image and every channel of it varies.
    QVERIFY(x.flatten(2).std(2).min().item<double>() > 0.02);
    // Not washed out: few pixels saturate at 0 or 255.
    const double saturated = (s.images.eq(0) | s.images.eq(255)).to(torch::kFloat).mean().item<double>();
    QVERIFY2(saturated < 0.05, qPrintable(QStringLiteral("%1 of the pixels saturate").arg(saturated)));
    // Colour: the channels are not copies of one another.
    QVERIFY(x.select(1, 0).ne(x.select(1, 1)).to(torch::kFloat).mean().item<double>() > 0.5);
    QVERIFY(x.select(1, 1).ne(x.select(1, 2)).to(torch::kFloat).mean().item<double>() > 0.5);
    // Overall mid-grey with a spread like natural images.
    const auto mean = x.mean({0, 2, 3}), stdev = x.std(c10::IntArrayRef{0, 2, 3});
    for (int c = 0; c < 3; ++c) {
        QVERIFY(mean[c].item<double>() > 0.3 && mean[c].item<double>() < 0.6);
        QVERIFY(stdev[c].item<double>() > 0.12 && stdev[c].item<double>() < 0.35);
    }
}

void TestSyntheticCifar::loadsWithTrainStatistics() {
    // The name as people write it maps to the canonical one, like "CIFAR-10".
    const Dataset d = loadDataset("Synthetic-CIFAR", "", 9, 500, 100);
    QCOMPARE(d.name, std::string("synthetic_cifar"));
    QCOMPARE(d.train.size(), int64_t(500));
    QCOMPARE(d.test.size(), int64_t(100));
    QCOMPARE(d.channels, int64_t(3));
    QCOMPARE(d.height, int64_t(32));
    QCOMPARE(d.width, int64_t(32));
    QCOMPARE(d.numClasses, int64_t(10));
    QVERIFY(d.augment); // the CIFAR-10 pipeline: crop and flip
    QVERIFY(torch::equal(d.train.images, generateSyntheticCifar(500, 9, SyntheticSplit::Train).images));
    QVERIFY(torch::equal(d.test.images, generateSyntheticCifar(100, 9, SyntheticSplit::Test).images));

    // Per channel, from the training split alone.
    const auto pixels = d.train.images.to(torch::kDouble).div(255);
    QCOMPARE(d.mean.size(), size_t(3));
    QCOMPARE(d.std.size(), size_t(3));
    for (int64_t c = 0; c < 3; ++c) {
        const auto channel = pixels.select(1, c);
        QVERIFY(std::abs(d.mean[size_t(c)] - channel.mean().item<double>()) < 1e-4);
        QVERIFY(std::abs(d.std[size_t(c)] - channel.std().item<double>()) < 1e-4);
    }
}

void TestSyntheticCifar::normalisesToFiniteBatches() {
    const Dataset d = loadDataset("synthetic_cifar", "", 2, 512, 64);
    const BatchSampler sampler(d, 256, 5);
    const Batch train = sampler.trainBatch(0, 0, torch::kCPU);
    QCOMPARE(train.inputs.sizes().vec(), (std::vector<int64_t>{256, 3, 32, 32}));
    QCOMPARE(train.inputs.scalar_type(), torch::kFloat);
    QVERIFY(train.inputs.isfinite().all().item<bool>());
    // Normalised with the split's own statistics: about zero mean and unit spread per channel
    // (augmentation's zero padding pulls a little).
    const auto mean = train.inputs.mean({0, 2, 3}), stdev = train.inputs.std(c10::IntArrayRef{0, 2, 3});
    for (int c = 0; c < 3; ++c) {
        QVERIFY2(std::abs(mean[c].item<double>()) < 0.3, qPrintable(QString::number(mean[c].item<double>())));
        QVERIFY2(std::abs(stdev[c].item<double>() - 1.0) < 0.3, qPrintable(QString::number(stdev[c].item<double>())));
    }
    const Batch test = sampler.testBatch(0, torch::kCPU);
    QCOMPARE(test.inputs.sizes().vec(), (std::vector<int64_t>{64, 3, 32, 32}));
    QVERIFY(test.inputs.isfinite().all().item<bool>());
}

void TestSyntheticCifar::rejectsBadCounts() {
    const auto keyOf = [](int64_t train, int64_t test) -> std::string {
        try {
            loadDataset("synthetic_cifar", "", 0, train, test);
        } catch (const ConfigError& e) {
            return e.key();
        }
        return "(none)";
    };
    QCOMPARE(keyOf(0, 10), std::string("synthetic_train"));
    QCOMPARE(keyOf(-5, 10), std::string("synthetic_train"));
    QCOMPARE(keyOf(10, 0), std::string("synthetic_test"));
    QCOMPARE(keyOf(10, -1), std::string("synthetic_test"));
}

void TestSyntheticCifar::isAcceptedWhereverCifarIs() {
    const auto names = datasetNames();
    QVERIFY(std::find(names.begin(), names.end(), "synthetic_cifar") != names.end());

    // A config needs no data_dir for it (the files datasets do).
    RunConfig c;
    applyOverride(c, "dataset=synthetic_cifar");
    applyOverride(c, "model=resnet18");
    c.data_dir.clear();
    validateConfig(c);

    // The models are built for CIFAR-10's input, and take a batch of it.
    const InputShape shape = inputShapeOf("synthetic_cifar");
    QCOMPARE(shape.channels, int64_t(3));
    QCOMPARE(shape.height, int64_t(32));
    QCOMPARE(shape.width, int64_t(32));
    QCOMPARE(shape.numClasses, int64_t(10));
    const Dataset d = loadDataset("synthetic_cifar", "", 1, 20, 10);
    const Batch batch = BatchSampler(d, 4, 1).trainBatch(0, 0, torch::kCPU);
    torch::NoGradGuard noGrad;
    for (const char* model : {"lenet5", "resnet18"}) {
        auto net = buildModel(model, "", shape);
        net->eval();
        const auto logits = net->forward(batch.inputs);
        QCOMPARE(logits.sizes().vec(), (std::vector<int64_t>{4, 10}));
        QVERIFY(logits.isfinite().all().item<bool>());
    }
}

void TestSyntheticCifar::isLearnableButNotTrivial() {
    const DatasetSplit train = generateSyntheticCifar(2000, 5, SyntheticSplit::Train);
    const DatasetSplit test = generateSyntheticCifar(1000, 5, SyntheticSplit::Test);
    const auto x = train.images.to(torch::kFloat).div(255).flatten(1);
    const auto xt = test.images.to(torch::kFloat).div(255).flatten(1);
    std::vector<torch::Tensor> means;
    for (int c = 0; c < 10; ++c) means.push_back(x.index({train.labels == c}).mean(0));
    const auto classMeans = torch::stack(means);

    // Class means are apart (each class has its hue, shape and stripes)...
    const auto between = torch::cdist(classMeans, classMeans) + torch::eye(10) * 1e6;
    QVERIFY2(between.min().item<double>() > 0.3, "class means nearly coincide");
    // ...but samples scatter much further from their class mean than the means lie apart (position,
    // size, colour, clutter and noise vary)...
    const auto within = (x - classMeans.index_select(0, train.labels)).norm(2, 1).mean().item<double>();
    QVERIFY2(within > 3.0 * between.min().item<double>(), "samples hug their class means");
    // ...so a nearest-class-mean rule on raw pixels, blind to shape and stripes wherever they lie,
    // is clearly better than chance (0.1) on unseen images yet far from what a CNN reaches.
    const double ncm = torch::cdist(xt, classMeans).argmin(1).eq(test.labels).to(torch::kFloat).mean().item<double>();
    QVERIFY2(ncm > 0.2 && ncm < 0.6, qPrintable(QStringLiteral("nearest-class-mean accuracy %1").arg(ncm)));
}

QTEST_GUILESS_MAIN(TestSyntheticCifar)
#include "test_synthetic_cifar.moc"
