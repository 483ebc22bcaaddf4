// The pictures come from the logic library (renderCounts / renderSigned); this only scales,
// captions and lays them out.
#include "widgets/structure/input_connectivity_view.hpp"

#include "widgets/structure/grid_picture_view.hpp"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>

#include <stdexcept>

namespace srigl::studio {

namespace {

QString shapeText(const InputShape& s) {
    return QStringLiteral("%1 x %2 x %3").arg(s.channels).arg(s.height).arg(s.width);
}

QString positions(const InputConnectivity& ic) {
    return ic.layout.kind == FirstLayerKind::Linear ? QStringLiteral("pixels") : QStringLiteral("kernel positions");
}

} // namespace

InputConnectivityView::InputConnectivityView(QWidget* parent) : QWidget(parent) {
    auto* grid = new QGridLayout(this);
    summary_ = new QLabel(tr("No first layer chosen."), this);
    summary_->setWordWrap(true);
    connections_ = new GridPictureView(tr("Connections per input position"), this);
    change_ = new GridPictureView(tr("Change since the previous snapshot"), this);
    auto* pick = new QHBoxLayout;
    pick->addWidget(new QLabel(tr("Neuron"), this));
    neuronBox_ = new QSpinBox(this);
    neuronBox_->setRange(0, 0);
    pick->addWidget(neuronBox_);
    pick->addStretch(1);
    fieldMask_ = new GridPictureView(tr("Receptive field: mask"), this);
    fieldWeights_ = new GridPictureView(tr("Receptive field: weights"), this);
    grid->addWidget(summary_, 0, 0, 1, 2);
    grid->addWidget(connections_, 1, 0);
    grid->addWidget(change_, 1, 1);
    grid->addLayout(pick, 2, 0, 1, 2);
    grid->addWidget(fieldMask_, 3, 0);
    grid->addWidget(fieldWeights_, 3, 1);
    connect(neuronBox_, qOverload<int>(&QSpinBox::valueChanged), this, &InputConnectivityView::setNeuron);
    for (auto* view : {connections_, change_, fieldMask_, fieldWeights_}) view->clear(tr("No data"));
}

void InputConnectivityView::setData(const InputConnectivity& ic, const LayerMaskSnapshot& mask,
                                    std::optional<std::vector<float>> weights) {
    connectivity_ = ic;
    mask_ = mask;
    weights_ = std::move(weights);
    const QString layer = QString::fromStdString(ic.layer);
    const int64_t total = ic.connections.channels * ic.connections.height * ic.connections.width;
    const QString kind = ic.layout.kind == FirstLayerKind::Linear
                             ? tr("Linear")
                             : tr("conv %1 x %2").arg(ic.layout.planeHeight).arg(ic.layout.planeWidth);
    // A layer too large to snapshot whole is sampled: what is counted is the sampled neurons' reads.
    summary_->setText(tr("%1 on a %2 input (%3): %4 of %5 %6 are read by no connection%7")
                          .arg(layer, shapeText(ic.layout.input), kind)
                          .arg(ic.unconnected)
                          .arg(total)
                          .arg(positions(ic))
                          .arg(mask.sampled() ? tr(" of its sampled neurons (%1 of %2)")
                                                    .arg(QString::fromStdString(everyNth(mask.rowStride)))
                                                    .arg(mask.layerRows())
                                              : QString()));
    connections_->setPicture(
        renderCounts(ic.connections, static_cast<double>(ic.maxConnections)), ColourMap::Sequential,
        QStringLiteral("0"), tr("max %1").arg(ic.maxConnections),
        tr("Connections of %1 reading each of the %2 %3").arg(layer).arg(total).arg(positions(ic)));
    if (ic.change) {
        const auto limit = static_cast<double>(ic.maxAbsChange);
        change_->setPicture(renderSigned(*ic.change, limit), ColourMap::Diverging,
                            QStringLiteral("-%1").arg(ic.maxAbsChange), QStringLiteral("+%1").arg(ic.maxAbsChange),
                            tr("%1 connections gained, %2 lost (blue: fewer, red: more)").arg(ic.gained).arg(ic.lost));
    } else {
        change_->clear(tr("No previous snapshot to compare with"));
    }
    {
        const QSignalBlocker block(neuronBox_);
        neuronBox_->setRange(0, static_cast<int>(std::max<int64_t>(0, mask_.outFeatures - 1)));
    }
    if (neuron_ >= mask_.outFeatures) neuron_ = 0;
    showField();
}

void InputConnectivityView::setNeuron(int neuron) {
    if (neuron < 0 || (connectivity_ && neuron >= mask_.outFeatures) || neuron == neuron_) return;
    neuron_ = neuron;
    showField();
    Q_EMIT neuronChanged(neuron_);
}

void InputConnectivityView::showField() {
    {
        const QSignalBlocker block(neuronBox_);
        neuronBox_->setValue(neuron_);
    }
    if (!connectivity_) return;
    ReceptiveField field;
    try {
        field = receptiveField(connectivity_->layout, mask_, neuron_, weights_ ? &*weights_ : nullptr);
    } catch (const std::invalid_argument& e) {
        // Records that do not fit each other (weights of another step): say so, keep the rest shown.
        fieldMask_->clear(QString::fromStdString(e.what()));
        fieldWeights_->clear(QString());
        return;
    }
    // A sampled mask's row r is the layer's neuron r * stride.
    const QString who = tr("Neuron %1: fan-in %2%3%4")
                            .arg(mask_.neuronOf(neuron_))
                            .arg(field.fanIn)
                            .arg(field.ablated ? tr(", ablated") : QString())
                            .arg(mask_.sampled() ? tr(" (row %1 of the sample, %2 neuron)")
                                                       .arg(neuron_)
                                                       .arg(QString::fromStdString(everyNth(mask_.rowStride)))
                                                 : QString());
    fieldMask_->setPicture(renderCounts(field.mask, 1.0), ColourMap::Sequential, tr("grey: not read"), tr("read"), who);
    if (field.weights)
        fieldWeights_->setPicture(renderSigned(*field.weights, field.maxAbsWeight), ColourMap::Diverging,
                                  QString::number(-field.maxAbsWeight, 'g', 3),
                                  QString::number(field.maxAbsWeight, 'g', 3), tr("%1 (grey: not read)").arg(who));
    else
        fieldWeights_->clear(tr("Weights were not recorded at this step"));
}

QString InputConnectivityView::summaryText() const { return summary_->text(); }

} // namespace srigl::studio
