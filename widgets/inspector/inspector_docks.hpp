// The mask inspector and weight heatmap docks and the global step scrubber (a toolbar), wired to
// the run browser's selection and the live session: the selected run is the browser's current row
// or, when a run starts, the live one; the scrubber's step drives both docks (and, through
// stepSelected, any other panel the window connects). Kept out of main_window.cpp so the window
// only creates it.
#pragma once

#include "sessions/session/live_layers.hpp"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>

class QDockWidget;
class QMainWindow;
class QToolBar;

namespace srigl::studio {

class MaskInspectorWidget;
class RunBrowserPanel;
class SessionController;
class SnapshotSource;
class StepScrubber;
class StoreReader;
class WeightHeatmapPanel;

class LiveFrameSource;

class InspectorDocks : public QObject {
    Q_OBJECT
public:
    // Adds the docks as a full-height column on the right (the heatmap tabbed behind the inspector)
    // and the scrubber as a toolbar at the top.
    InspectorDocks(QMainWindow* window, RunBrowserPanel* browser, SessionController& controller, StoreReader& store, const QString& dbPath);

    // nullptr where the platform has no OpenGL (offscreen): the dock then says so.
    MaskInspectorWidget* inspector() const { return inspector_; }
    WeightHeatmapPanel* heatmap() const { return heatmap_; }
    StepScrubber* scrubber() const { return scrubber_; }
    SnapshotSource* source() const { return source_; }
    LiveFrameSource* liveSource() const { return liveSource_; }
    QList<QDockWidget*> docks() const { return {inspectorDock_, heatmapDock_}; }
    QToolBar* toolBar() const { return toolBar_; }

    // Another database: the selection is cleared.
    void setDatabase(const QString& path);

private:
    void followBrowser();
    void followLive();
    void followLive(qint64 runId);
    // The scrubber's step: from the live slot when it is the live run's latest publication.
    void showStep(qint64 runId, qint64 step);
    void showLive(std::shared_ptr<const sessions::LiveLayers> layers);

    QMainWindow* window_;
    RunBrowserPanel* browser_;
    SessionController& controller_;
    QString dbPath_;
    qint64 liveRunId_ = 0;
    MaskInspectorWidget* inspector_ = nullptr;
    WeightHeatmapPanel* heatmap_ = nullptr;
    StepScrubber* scrubber_ = nullptr;
    SnapshotSource* source_ = nullptr;
    LiveFrameSource* liveSource_ = nullptr;
    QDockWidget* inspectorDock_ = nullptr;
    QDockWidget* heatmapDock_ = nullptr;
    QToolBar* toolBar_ = nullptr;
};

} // namespace srigl::studio
