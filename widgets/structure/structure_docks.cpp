// The structure dock's data: one read (or one live publication) per shown step, the views fed
// from it, and a neuron's history read on demand.
#include "widgets/structure/structure_docks.hpp"

#include "engine/config/run_config.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/live/redraw_throttle.hpp"
#include "widgets/live/session_controller.hpp"
#include "widgets/logic/degree_histograms.hpp"
#include "widgets/logic/input_connectivity.hpp"
#include "widgets/logic/neuron_history.hpp"
#include "widgets/structure/degree_histogram_view.hpp"
#include "widgets/structure/input_connectivity_view.hpp"
#include "widgets/structure/neuron_drilldown_panel.hpp"

#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QLabel>
#include <QMainWindow>
#include <QScrollArea>
#include <QTabWidget>
#include <QVBoxLayout>

namespace srigl::studio {
namespace {

int indexOf(const StructureStep& s, const std::string& layer) {
    for (size_t i = 0; i < s.masks.size(); ++i)
        if (s.masks[i].name == layer) return static_cast<int>(i);
    return -1;
}

// The active weights of a dense [out, fan_in] snapshot, in mask order (as the store keeps them).
std::vector<float> activeWeights(const LayerWeightSnapshot& w, const LayerMaskSnapshot& m) {
    std::vector<float> out;
    for (size_t i = 0; i < w.values.size(); ++i)
        if (m.bits[i >> 3] >> (i & 7) & 1) out.push_back(w.values[i]);
    return out;
}

StructureStep readStep(sessions::RunStore& store, int64_t runId, int64_t step) {
    StructureStep s;
    s.runId = runId;
    s.step = step;
    s.config = store.run(runId).config;
    for (const auto& layer : store.maskLayers(runId)) {
        auto records = store.masksAtOrBefore(runId, layer, step, 2); // newest first
        if (records.empty()) continue;
        s.shapes.push_back(records[0].stats.shape);
        s.previous.push_back(records.size() > 1 ? std::optional<LayerMaskSnapshot>(records[1].mask) : std::nullopt);
        if (s.masks.empty()) {
            auto weights = store.weightValues(runId, layer, records[0].step);
            if (!weights.empty()) s.firstWeights = std::move(weights.front().values);
        }
        s.masks.push_back(std::move(records[0].mask));
    }
    if (s.masks.empty()) throw sessions::StoreError("run " + std::to_string(runId) + " has no mask snapshots yet");
    return s;
}

} // namespace

StructureStep structureStepFromLive(const sessions::LiveLayers& layers, const std::string& config) {
    StructureStep s;
    s.runId = layers.runId;
    s.step = layers.step;
    s.config = config;
    if (!layers.masks) return s;
    for (const auto& m : *layers.masks) {
        const auto* stats = layers.layerStats(m.name);
        s.shapes.push_back(stats ? stats->shape : std::vector<int64_t>{});
        const auto* previous = layers.previousMask(m.name);
        s.previous.push_back(previous ? std::optional<LayerMaskSnapshot>(*previous) : std::nullopt);
        s.masks.push_back(m);
    }
    if (!s.masks.empty())
        if (const auto* w = layers.weight(s.masks.front().name)) s.firstWeights = activeWeights(*w, s.masks.front());
    return s;
}

StructureDocks::StructureDocks(QMainWindow* window, SessionController& controller, StoreReader& store)
    : QObject(window), controller_(controller), store_(store) {
    auto* panel = new QWidget(window);
    layer_ = new QComboBox(panel);
    layer_->setObjectName(QStringLiteral("structureLayer"));
    message_ = new QLabel(tr("Select a run (or start one) to see its structure."), panel);
    message_->setWordWrap(true);
    tabs_ = new QTabWidget(panel);
    degrees_ = new DegreeHistogramView(tabs_);
    connectivity_ = new InputConnectivityView(tabs_);
    drilldown_ = new NeuronDrilldownPanel(tabs_);
    // Scrollable pages: the dock shares the inspector's column and must not dictate its width.
    auto scrollable = [this](QWidget* view) {
        auto* area = new QScrollArea(tabs_);
        area->setWidgetResizable(true);
        area->setFrameShape(QFrame::NoFrame);
        area->setWidget(view);
        return area;
    };
    tabs_->addTab(scrollable(degrees_), tr("Fan-in and out-degree"));
    tabs_->addTab(scrollable(connectivity_), tr("Input connectivity"));
    tabs_->addTab(scrollable(drilldown_), tr("Neuron"));
    auto* header = new QHBoxLayout;
    header->addWidget(new QLabel(tr("Layer"), panel));
    header->addWidget(layer_, 1);
    auto* layout = new QVBoxLayout(panel);
    layout->addLayout(header);
    layout->addWidget(message_);
    layout->addWidget(tabs_, 1);

    dock_ = new QDockWidget(tr("Structure"), window);
    dock_->setObjectName(QStringLiteral("structureDock")); // saveState() identifies docks by object name
    dock_->setWidget(panel);

    connect(layer_, &QComboBox::textActivated, this, &StructureDocks::setLayer);
    connect(connectivity_, &InputConnectivityView::neuronChanged, this, [this](int neuron) {
        if (shown_ && !shown_->masks.empty()) openNeuron(QString::fromStdString(shown_->masks.front().name), neuron);
    });
    // A recorded run's publications arrive through the scrubber (which may be on another run or on
    // an older step); one that is not recorded has no steps to scrub and comes from the session.
    connect(&controller_, &SessionController::liveLayersChanged, this,
            [this](const std::shared_ptr<const sessions::LiveLayers>& layers) {
                if (layers && layers->runId == 0) showLive(layers);
            });
    liveRedraw_ = new RedrawThrottle(200, [this] { showPendingLive(); }, this);
    connect(dock_, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (!visible) return;
        if (pendingLive_) showPendingLive();
        else if (stale_) render();
    });
}

QString StructureDocks::message() const { return message_->text(); }

void StructureDocks::showRunStep(qint64 runId, qint64 step) {
    if (auto live = controller_.liveAt(runId, step)) {
        showLive(live);
        return;
    }
    // A stored step: a live publication waiting to be drawn must not replace it.
    liveRedraw_->cancel();
    pendingLive_.reset();
    shownLive_.reset();
    store_.request(
        this, QStringLiteral("structure step"),
        [runId, step](sessions::RunStore& store) { return readStep(store, runId, step); },
        [this](StructureStep s) { show(std::move(s)); }, [this](const QString& error) { message_->setText(error); });
}

void StructureDocks::showLive(std::shared_ptr<const sessions::LiveLayers> layers) {
    if (!layers || layers == shownLive_) return;
    pendingLive_ = std::move(layers);
    liveRedraw_->request();
}

void StructureDocks::showPendingLive() {
    if (!pendingLive_) return;
    // Hidden (a tab behind another): not even copied out of the publication until shown.
    if (!dock_->widget()->isVisible()) return;
    shownLive_ = std::move(pendingLive_);
    show(structureStepFromLive(*shownLive_, "{\"dataset\": \"" + controller_.config().dataset + "\"}"));
}

void StructureDocks::setLayer(const QString& layer) {
    chosenLayer_ = layer;
    render();
}

void StructureDocks::show(StructureStep step) {
    shown_ = std::move(step);
    const bool blocked = layer_->blockSignals(true);
    layer_->clear();
    for (const auto& m : shown_->masks) layer_->addItem(QString::fromStdString(m.name));
    layer_->blockSignals(blocked);
    render();
}

void StructureDocks::render() {
    if (!shown_ || shown_->masks.empty()) return;
    // Hidden (a tab behind another): drawn when shown, not at every live publication.
    stale_ = !dock_->widget()->isVisible();
    if (stale_) return;
    int i = indexOf(*shown_, chosenLayer_.toStdString());
    if (i < 0) i = 0;
    layer_->setCurrentIndex(i);
    const auto& s = *shown_;
    const QString run = s.runId > 0 ? tr("run %1 at step %2").arg(s.runId).arg(s.step) : tr("live run at step %1").arg(s.step);
    QStringList problems;
    std::optional<NextLayerUse> next;
    if (static_cast<size_t>(i + 1) < s.masks.size()) {
        try {
            next = nextLayerUse(s.masks[size_t(i)], s.masks[size_t(i + 1)], s.shapes[size_t(i + 1)]);
        } catch (const std::exception& e) {
            problems << tr("How %1 reads this layer is not shown: %2")
                            .arg(QString::fromStdString(s.masks[size_t(i + 1)].name), QString::fromUtf8(e.what()));
        }
    }
    degrees_->setData(layerDegrees(s.masks[size_t(i)]), next, run);
    if (const auto shape = inputShapeFromConfig(s.config)) {
        try {
            const auto& first = s.masks.front();
            const LayerMaskSnapshot* previous = s.previous.front() ? &*s.previous.front() : nullptr;
            connectivity_->setData(inputConnectivity(first, *shape, previous, s.shapes.front()), first, s.firstWeights);
        } catch (const std::exception& e) {
            problems << tr("Input connectivity: %1").arg(QString::fromUtf8(e.what()));
        }
    } else {
        problems << tr("Input connectivity needs an image dataset (MNIST, Fashion-MNIST, CIFAR-10).");
    }
    message_->setText(problems.join(QLatin1Char('\n')));
    message_->setVisible(!problems.isEmpty());
    Q_EMIT shownChanged();
}

void StructureDocks::openNeuron(const QString& layer, int neuron) {
    if (!shown_ || shown_->runId <= 0) return; // the history of a run that is not recorded does not exist
    const int64_t runId = shown_->runId;
    const std::string name = layer.toStdString();
    const int i = indexOf(*shown_, name);
    if (i < 0) return;
    NextLayerRef next;
    if (static_cast<size_t>(i + 1) < shown_->masks.size()) {
        next.name = shown_->masks[size_t(i + 1)].name;
        next.shape = shown_->shapes[size_t(i + 1)];
    }
    const bool last = static_cast<size_t>(i + 1) == shown_->masks.size();
    store_.request(
        this, QStringLiteral("structure neuron"),
        [runId, name, neuron, next, last](sessions::RunStore& store) {
            const RunConfig config = configFromJson(store.run(runId).config);
            SalienceParams params;
            params.gammaSal = config.method == "srigl" ? config.gamma_sal : 0.0;
            params.allowAblation = !last;
            params.dropFraction = dropFractionsFromMetrics(store.metrics(runId));
            auto masks = store.masks(runId, name);
            if (!next.name.empty()) {
                auto more = store.masks(runId, next.name);
                masks.insert(masks.end(), more.begin(), more.end());
            }
            return neuronHistory(masks, store.weightValues(runId, name), store.gradientValues(runId, name), name, neuron,
                                 params, next);
        },
        [this](NeuronHistory history) {
            drilldown_->setHistory(history);
            tabs_->setCurrentIndex(2);
            Q_EMIT shownChanged();
        },
        [this](const QString& error) { message_->setText(error); message_->setVisible(true); });
}

} // namespace srigl::studio
