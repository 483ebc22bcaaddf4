// Exports: PNG, CSV, mask videos and image sequences.
#include "widgets/runs/export_actions.hpp"

#include "sessions/render/mask_renderer.hpp"
#include "sessions/store/output_target.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_error.hpp"

#include <QBuffer>
#include <QCoreApplication>
#include <QEventLoop>
#include <QImage>
#include <QLocale>
#include <QPixmap>
#include <QProgressDialog>
#include <QSaveFile>
#include <QTimer>
#include <QWidget>

#include <algorithm>
#include <thread>

namespace srigl::studio {
namespace {

bool isVideo(const std::string& out) {
    auto endsWith = [&](const char* ext) { return out.size() > 4 && out.compare(out.size() - 4, 4, ext) == 0; };
    return endsWith(".mp4") || endsWith(".avi");
}

bool fail(QString* error, const QString& text) {
    if (error) *error = text;
    return false;
}

// On the store reader's thread, so a FIFO here would have stalled every panel's reads.
void writeText(const std::string& path, const std::string& text) {
    QString error;
    if (!writeExportFile(QString::fromStdString(path), QByteArray::fromStdString(text), &error))
        throw sessions::StoreError(error.toStdString());
}

} // namespace

QString exportTargetProblem(const QString& path) {
    const std::string problem =
        sessions::outputTargetProblem(path.toStdString(), "name a file", "nothing was written to it");
    return problem.empty() ? QString() : QObject::tr("cannot write %1: it %2").arg(path, QString::fromStdString(problem));
}

bool writeExportFile(const QString& path, const QByteArray& bytes, QString* error) {
    const QString problem = exportTargetProblem(path);
    if (!problem.isEmpty()) return fail(error, problem);
    QSaveFile file(path); // not committed: the destructor removes the temporary file
    // Unbuffered, and written until every byte is taken: Qt 6.4's buffered flush treats a short
    // write (the disk filled up) as success, so commit() renamed a truncated file into place.
    if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
    for (qint64 done = 0; done < bytes.size();) {
        const qint64 n = file.write(bytes.constData() + done, bytes.size() - done);
        if (n <= 0) return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
        done += n;
    }
    if (!file.commit()) return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
    return true;
}

bool savePngFile(const QImage& image, const QString& path, QString* error) {
    QByteArray png;
    QBuffer buffer(&png);
    if (image.isNull() || !buffer.open(QIODevice::WriteOnly) || !image.save(&buffer, "PNG"))
        return fail(error, QObject::tr("cannot write %1: the picture could not be made").arg(path));
    return writeExportFile(path, png, error);
}

bool exportWidgetPng(QWidget* widget, const QString& path, QString* error) {
    return savePngFile(widget->grab().toImage(), path, error);
}

std::string metricsCsv(sessions::RunStore& store, const std::vector<int64_t>& runIds) {
    std::string csv = "run,step,metric,value\n";
    for (int64_t id : runIds) {
        store.run(id); // StoreError naming an unknown run
        auto metrics = store.metrics(id);
        std::stable_sort(metrics.begin(), metrics.end(), [](const sessions::Metric& a, const sessions::Metric& b) {
            return a.step != b.step ? a.step < b.step : a.key < b.key;
        });
        for (const auto& m : metrics)
            csv += std::to_string(id) + "," + std::to_string(m.step) + "," + m.key + "," +
                   QString::number(m.value, 'g', QLocale::FloatingPointShortest).toStdString() + "\n";
    }
    return csv;
}

std::string metricsCsv(const std::string& dbPath, const std::vector<int64_t>& runIds) {
    sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
    return metricsCsv(store, runIds);
}

void exportMetricsCsv(sessions::RunStore& store, const std::vector<int64_t>& runIds, const std::string& path) {
    writeText(path, metricsCsv(store, runIds));
}

void exportMetricsCsv(const std::string& dbPath, const std::vector<int64_t>& runIds, const std::string& path) {
    writeText(path, metricsCsv(dbPath, runIds));
}

std::vector<std::string> snapshotLayers(sessions::RunStore& store, int64_t runId) {
    std::vector<std::string> names;
    for (const auto& m : store.maskStats(runId))
        if (m.hasMask && std::find(names.begin(), names.end(), m.stats.name) == names.end()) names.push_back(m.stats.name);
    return names;
}

std::vector<std::string> maskLayers(const std::string& dbPath, int64_t runId) {
    sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
    return snapshotLayers(store, runId);
}

size_t exportMaskEvolution(const std::string& dbPath, int64_t runId, const std::string& layer, const std::string& out,
                           const std::function<void(size_t, size_t)>& progress, const std::atomic<bool>* cancel) {
    std::vector<sessions::MaskRecord> records;
    {
        sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
        store.run(runId);
        records = store.masks(runId, layer);
    }
    if (records.empty())
        throw sessions::StoreError("run " + std::to_string(runId) + " has no mask snapshots of layer '" + layer + "'");
    std::vector<LayerMaskSnapshot> frames;
    std::vector<int64_t> steps;
    for (auto& r : records) {
        frames.push_back(std::move(r.mask));
        steps.push_back(r.step);
    }
    size_t written = 0;
    const auto report = [&](size_t done, size_t total) {
        written = done;
        if (progress) progress(done, total);
        return !(cancel && cancel->load());
    };
    // Both all or nothing: a cancel leaves the old video or the folder as it was.
    if (isVideo(out)) sessions::writeMaskVideo(out, frames, 4.0, report);
    else sessions::writeMaskFrames(out, layer, frames, steps, report);
    return cancel && cancel->load() ? 0 : written;
}

long long exportMaskEvolutionWithDialog(QWidget* parent, const std::string& dbPath, int64_t runId,
                                        const std::string& layer, const std::string& out, QString* error) {
    std::atomic<bool> cancel{false}, finished{false};
    std::atomic<size_t> done{0}, total{0};
    long long result = -1;
    std::string failure;
    std::thread worker([&] {
        try {
            result = static_cast<long long>(exportMaskEvolution(
                dbPath, runId, layer, out,
                [&](size_t d, size_t t) {
                    total = t;
                    done = d;
                },
                &cancel));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        finished = true;
    });
    QProgressDialog dialog(QObject::tr("Writing the mask evolution of %1…").arg(QString::fromStdString(layer)),
                           QObject::tr("Cancel"), 0, 0, parent);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(0);
    QEventLoop loop;
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (dialog.wasCanceled()) cancel = true;
        if (total > 0) {
            dialog.setMaximum(static_cast<int>(total));
            dialog.setValue(static_cast<int>(done));
        }
        if (finished) loop.quit();
    });
    poll.start(30);
    loop.exec();
    worker.join();
    if (!failure.empty()) {
        if (error) *error = QString::fromStdString(failure);
        return -1;
    }
    return cancel ? 0 : result;
}

} // namespace srigl::studio
