// Controls, background render, QGraphicsView display.
#include "widgets/heatmap/weight_heatmap_panel.hpp"

#include "sessions/render/weight_renderer.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QGraphicsPixmapItem>
#include <QGraphicsScene>
#include <QGraphicsView>
#include <QHBoxLayout>
#include <QLabel>
#include <QMetaObject>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <cmath>
#include <exception>

namespace srigl::studio {

namespace {

// Wheel zooms around the cursor; dragging pans.
class ZoomView : public QGraphicsView {
public:
    explicit ZoomView(QGraphicsScene* scene, QWidget* parent) : QGraphicsView(scene, parent) {
        setDragMode(QGraphicsView::ScrollHandDrag);
        setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
        setBackgroundBrush(QColor(24, 24, 28));
    }

protected:
    void wheelEvent(QWheelEvent* event) override {
        const double factor = std::pow(1.25, event->angleDelta().y() / 120.0);
        const double current = transform().m11();
        if ((factor > 1.0 && current < 64.0) || (factor < 1.0 && current > 0.05)) scale(factor, factor);
        event->accept();
    }
};

} // namespace

WeightHeatmapPanel::WeightHeatmapPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("weightHeatmap"));
    pool_.setMaxThreadCount(1);
    layer_ = new QComboBox(this);
    layer_->setObjectName(QStringLiteral("heatmapLayer"));
    layer_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    colormap_ = new QComboBox(this);
    colormap_->setObjectName(QStringLiteral("heatmapColormap"));
    for (const auto& name : sessions::colormapNames()) colormap_->addItem(QString::fromStdString(name));
    colormap_->setCurrentText(QString::fromStdString(HeatmapOptions{}.colormap));
    symmetric_ = new QCheckBox(tr("Symmetric range"), this);
    symmetric_->setChecked(true);
    symmetric_->setToolTip(tr("-max|w| .. +max|w|: zero is the colour map's middle. Off: min .. max."));
    log_ = new QCheckBox(tr("Log scale"), this);
    log_->setToolTip(tr("sign(w) · log10(1 + |w| / (0.001 · max|w|)): small weights stay visible"));
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    scene_ = new QGraphicsScene(this);
    item_ = scene_->addPixmap(QPixmap());
    item_->setTransformationMode(Qt::FastTransformation); // crisp entries when zoomed in
    view_ = new ZoomView(scene_, this);

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer"), this));
    controls->addWidget(layer_);
    controls->addWidget(new QLabel(tr("Colour map"), this));
    controls->addWidget(colormap_);
    controls->addWidget(symmetric_);
    controls->addWidget(log_);
    controls->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(status_);
    layout->addWidget(view_, 1);

    connect(layer_, &QComboBox::activated, this, [this](int index) { Q_EMIT layerChosen(layer_->itemText(index)); });
    connect(colormap_, &QComboBox::currentTextChanged, this, &WeightHeatmapPanel::render);
    connect(symmetric_, &QCheckBox::toggled, this, &WeightHeatmapPanel::render);
    connect(log_, &QCheckBox::toggled, this, &WeightHeatmapPanel::render);
    display(QImage(), tr("Select a run (or start one) to see its weights."));
}

WeightHeatmapPanel::~WeightHeatmapPanel() { pool_.waitForDone(); }

HeatmapOptions WeightHeatmapPanel::options() const {
    HeatmapOptions o;
    o.colormap = colormap_->currentText().toStdString();
    o.symmetric = symmetric_->isChecked();
    o.logScale = log_->isChecked();
    return o;
}

QString WeightHeatmapPanel::status() const { return status_->text(); }

void WeightHeatmapPanel::setFrame(std::shared_ptr<const InspectorFrame> frame) {
    // A new layer or shape starts fitted; a new step of the same layer keeps the zoom.
    if (!frame_ || !frame || frame_->layer != frame->layer || frame_->runId != frame->runId) fitted_ = false;
    frame_ = std::move(frame);
    if (frame_) {
        QStringList names;
        for (const auto& name : frame_->layers) names << QString::fromStdString(name);
        QStringList listed;
        for (int i = 0; i < layer_->count(); ++i) listed << layer_->itemText(i);
        const bool blocked = layer_->blockSignals(true);
        if (names != listed) {
            layer_->clear();
            layer_->addItems(names);
        }
        layer_->setCurrentText(QString::fromStdString(frame_->layer));
        layer_->blockSignals(blocked);
    }
    render();
}

void WeightHeatmapPanel::clearFrame() {
    frame_.reset();
    fitted_ = false;
    layer_->clear();
    display(QImage(), tr("Select a run (or start one) to see its weights."));
}

void WeightHeatmapPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) render();
}

void WeightHeatmapPanel::render() {
    if (!frame_) return;
    stale_ = !isVisible();
    if (stale_) return;
    if (!frame_->weights) {
        display(QImage(), tr("%1 at step %2: weights not recorded at this step.")
                           .arg(QString::fromStdString(frame_->layer))
                           .arg(frame_->maskStep));
        return;
    }
    if (busy_) {
        pending_ = true;
        return;
    }
    startRender();
}

void WeightHeatmapPanel::startRender() {
    busy_ = true;
    pending_ = false;
    std::shared_ptr<const InspectorFrame> frame = frame_;
    const HeatmapOptions opts = options();
    pool_.start([this, frame, opts] {
        QImage image;
        QString text;
        try {
            const HeatmapImage h = renderHeatmap(frame->inspection->mask(), *frame->weights, opts);
            image = QImage(h.image.pixels.data(), h.image.width, h.image.height, h.image.width * 3, QImage::Format_RGB888)
                        .copy(); // owns its pixels once the RgbImage is gone
            text = tr("%1 at step %2: %3 x %4, %5 range %6 .. %7%8")
                       .arg(QString::fromStdString(frame->layer))
                       .arg(frame->maskStep)
                       .arg(frame->inspection->rows())
                       .arg(frame->inspection->cols())
                       .arg(QString::fromStdString(opts.colormap))
                       .arg(h.low, 0, 'g', 3)
                       .arg(h.high, 0, 'g', 3)
                       .arg(opts.logScale ? tr(" (log scale)") : QString());
        } catch (const std::exception& e) {
            text = QString::fromStdString(e.what());
        }
        // `this` outlives the task (the destructor waits for the pool).
        QMetaObject::invokeMethod(
            this,
            [this, image, text] {
                busy_ = false;
                display(image, text);
                Q_EMIT rendered();
                if (pending_) startRender();
            },
            Qt::QueuedConnection);
    });
}

void WeightHeatmapPanel::display(const QImage& image, const QString& text) {
    image_ = image;
    status_->setText(text);
    item_->setPixmap(QPixmap::fromImage(image));
    scene_->setSceneRect(item_->boundingRect());
    if (!image.isNull() && !fitted_) {
        view_->fitInView(item_, Qt::KeepAspectRatio);
        fitted_ = true;
    }
}

} // namespace srigl::studio
