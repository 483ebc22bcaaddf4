// The structure dock: a layer's fan-in and out-degree histograms (with the neurons the next layer
// never reads), the first layer's input connectivity with a neuron's receptive field, and one
// neuron's drill-down over the run's stored steps. It shows the run and step the global scrubber
// selects: the live run's latest step straight from the session's latest-value slot, any other
// step from the store through the Studio's StoreReader. A neuron picked in the connectivity view
// (or clicked in the mask inspector) opens its drill-down.
#pragma once

#include "sessions/session/live_layers.hpp"
#include "sessions/store/run_store.hpp"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QDockWidget;
class QLabel;
class QMainWindow;
class QTabWidget;

namespace srigl::studio {

class DegreeHistogramView;
class InputConnectivityView;
class NeuronDrilldownPanel;
class RedrawThrottle;
class SessionController;
class StoreReader;

// Every layer's mask at one step (and the one before), as the views need them.
struct StructureStep {
    int64_t runId = 0;
    int64_t step = 0;
    std::string config; // the run's config JSON (its dataset gives the input image's shape)
    std::vector<LayerMaskSnapshot> masks;
    std::vector<std::optional<LayerMaskSnapshot>> previous;
    std::vector<std::vector<int64_t>> shapes;       // each layer's weight shape
    std::optional<std::vector<float>> firstWeights; // the first layer's active weights, when recorded
};

class StructureDocks : public QObject {
    Q_OBJECT
public:
    StructureDocks(QMainWindow* window, SessionController& controller, StoreReader& store);

    QDockWidget* dock() const { return dock_; }
    DegreeHistogramView* degrees() const { return degrees_; }
    InputConnectivityView* connectivity() const { return connectivity_; }
    NeuronDrilldownPanel* drilldown() const { return drilldown_; }
    QTabWidget* tabs() const { return tabs_; }
    const std::optional<StructureStep>& shown() const { return shown_; }
    QString message() const;

    // The scrubber's run and step (from the live slot when it is the live run's latest).
    void showRunStep(qint64 runId, qint64 step);
    // A publication of the live run: drawn at most five times a second (the latest one then), and
    // only while the dock is visible. Recorded runs come here through the scrubber; a run that is
    // not recorded (nothing to scrub) straight from the session.
    void showLive(std::shared_ptr<const sessions::LiveLayers> layers);
    // The layer whose histograms are shown (the inspector's choice follows here).
    void setLayer(const QString& layer);
    // Reads the layer's stored history and shows the neuron's drill-down tab.
    void openNeuron(const QString& layer, int neuron);

Q_SIGNALS:
    // A step or a drill-down is on screen (tests wait for it).
    void shownChanged();

private:
    void show(StructureStep step);
    void render();
    void showPendingLive();

    SessionController& controller_;
    StoreReader& store_;
    QDockWidget* dock_ = nullptr;
    QComboBox* layer_ = nullptr;
    QLabel* message_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    DegreeHistogramView* degrees_ = nullptr;
    InputConnectivityView* connectivity_ = nullptr;
    NeuronDrilldownPanel* drilldown_ = nullptr;
    std::optional<StructureStep> shown_;
    QString chosenLayer_;
    bool stale_ = false; // shown_ changed while the dock was hidden
    std::shared_ptr<const sessions::LiveLayers> pendingLive_; // the latest publication not drawn yet
    std::shared_ptr<const sessions::LiveLayers> shownLive_;   // the publication shown_ was made from
    RedrawThrottle* liveRedraw_ = nullptr;
};

// The views' data from a live publication (no store read).
StructureStep structureStepFromLive(const sessions::LiveLayers& layers, const std::string& config);

} // namespace srigl::studio
