// Exports from the Studio: any panel as PNG, the metrics of selected runs as CSV (one row per run,
// step and metric), and a layer's mask evolution as a video (sessions::writeMaskVideo, the same
// code as `srigl runs render`) or as a numbered PNG sequence - in the background, with progress
// and cancel.
#pragma once

#include <QString>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

class QByteArray;
class QImage;
class QWidget;

namespace srigl::sessions {
class RunStore;
}

namespace srigl::studio {

// Why `path` may not be exported to, or an empty string when it may: sessions::outputTargetProblem
// (new or an existing regular file, a link judged by what it points to; a folder, a device such as
// /dev/full, a FIFO or a socket refused), worded for the Studio's messages.
QString exportTargetProblem(const QString& path);
// Writes `bytes` all or nothing (QSaveFile: a temporary file beside the file, or beside the file a
// link names, renamed over it once everything is written), after exportTargetProblem: a full disk
// keeps the old file. false with *error naming the path and the reason.
bool writeExportFile(const QString& path, const QByteArray& bytes, QString* error = nullptr);
// The picture as PNG through writeExportFile (encoded in memory: QImageWriter ignores a failed
// write to a file, so a full disk left a truncated PNG reported as saved).
bool savePngFile(const QImage& image, const QString& path, QString* error = nullptr);

// QWidget::grab() of the panel; false with *error when the file cannot be written.
bool exportWidgetPng(QWidget* widget, const QString& path, QString* error = nullptr);

// "run,step,metric,value" then the rows of each run in the given order, by step, then metric; the
// values in the shortest form that reads back to the same double. Throws StoreError. The Studio
// reads through its StoreReader's connection; a path opens the database read-only.
std::string metricsCsv(sessions::RunStore& store, const std::vector<int64_t>& runIds);
std::string metricsCsv(const std::string& dbPath, const std::vector<int64_t>& runIds);
void exportMetricsCsv(sessions::RunStore& store, const std::vector<int64_t>& runIds, const std::string& path);
void exportMetricsCsv(const std::string& dbPath, const std::vector<int64_t>& runIds, const std::string& path);

// Writes every stored mask snapshot of the layer: a video when `out` ends in .mp4 or .avi
// (sessions::writeMaskVideo), otherwise PNGs <out>/<layer>_NNNN_step<S>.png (sessions::writeMaskFrames:
// the folder is created, or same-named frames in it are replaced and other files kept). Both are
// all or nothing: progress(done, total) after each frame; a cancel, an error or a full disk leaves
// no partial video or frame set and keeps what was at `out`. Returns the frames written, 0 when
// cancelled. Throws StoreError (no such run or layer, unwritable file).
size_t exportMaskEvolution(const std::string& dbPath, int64_t runId, const std::string& layer, const std::string& out,
                           const std::function<void(size_t done, size_t total)>& progress = {},
                           const std::atomic<bool>* cancel = nullptr);

// exportMaskEvolution on a worker thread behind a modal progress dialog with Cancel; the UI keeps
// painting. Returns the frames written (0 when cancelled) or -1 with *error.
long long exportMaskEvolutionWithDialog(QWidget* parent, const std::string& dbPath, int64_t runId,
                                        const std::string& layer, const std::string& out, QString* error);

// Layers with mask snapshots in the run, in the order they were first recorded (for the export
// dialog's choice); only the snapshots' statistics are read.
std::vector<std::string> snapshotLayers(sessions::RunStore& store, int64_t runId);
std::vector<std::string> maskLayers(const std::string& dbPath, int64_t runId);

} // namespace srigl::studio
