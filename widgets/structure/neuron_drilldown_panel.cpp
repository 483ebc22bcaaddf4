// Steps without a value (weights or salience not recorded) are NaN points, which XyChart leaves
// out, so a gap in a chart is a gap in the records, never an invented zero.
#include "widgets/structure/neuron_drilldown_panel.hpp"

#include "widgets/common/xy_chart.hpp"

#include <QChart>
#include <QGridLayout>
#include <QLabel>
#include <QScatterSeries>

#include <cmath>
#include <limits>

namespace srigl::studio {

namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

QString stepList(const std::vector<int64_t>& steps) {
    QStringList parts;
    for (size_t i = 0; i < steps.size() && i < 8; ++i) parts << QString::number(steps[i]);
    if (steps.size() > 8) parts << QStringLiteral("... (%1 in all)").arg(static_cast<qlonglong>(steps.size()));
    return parts.join(QStringLiteral(", "));
}

} // namespace

QString neuronSummary(const NeuronHistory& h) {
    QStringList lines;
    const QString layer = QString::fromStdString(h.layer);
    if (h.points.empty()) return QStringLiteral("%1 neuron %2: no stored steps").arg(layer).arg(h.neuron);
    std::vector<int64_t> ablated, unrecorded, below;
    int64_t norms = 0;
    QString missing;
    for (const auto& p : h.points) {
        if (p.ablated) ablated.push_back(p.step);
        if (p.weightNorm) ++norms;
        if (!p.salience.recorded) {
            unrecorded.push_back(p.step);
            if (missing.isEmpty()) missing = QString::fromStdString(p.salience.missing);
        } else if (p.salience.belowThreshold) {
            below.push_back(p.step);
        }
    }
    const auto& last = h.points.back();
    lines << QStringLiteral("%1 stored steps (%2 to %3); at step %3: fan-in %4%5")
                 .arg(static_cast<qlonglong>(h.points.size()))
                 .arg(h.points.front().step)
                 .arg(last.step)
                 .arg(last.fanIn)
                 .arg(last.ablated ? QStringLiteral(", ablated") : QString());
    if (!h.nextLayer.empty())
        lines << (last.outDegree
                      ? QStringLiteral("Outgoing: %1 connections of %2 read it")
                            .arg(*last.outDegree)
                            .arg(QString::fromStdString(h.nextLayer))
                      : QStringLiteral("Outgoing: no snapshot of %1 yet").arg(QString::fromStdString(h.nextLayer)));
    lines << (ablated.empty() ? QStringLiteral("Never ablated")
                              : QStringLiteral("Ablated at steps %1").arg(stepList(ablated)));
    lines << (norms == 0 ? QStringLiteral("Weight norm: weights not recorded")
                         : QStringLiteral("Weight norm recorded at %1 of %2 steps").arg(norms).arg(h.points.size()));
    if (unrecorded.size() == h.points.size())
        lines << QStringLiteral("Salience: not recorded (needs weights, gradient and drop fraction at a step)");
    else if (!unrecorded.empty())
        lines << QStringLiteral("Salience: not recorded at steps %1 (no %2)").arg(stepList(unrecorded), missing);
    if (!below.empty()) lines << QStringLiteral("Below the ablation threshold at steps %1").arg(stepList(below));
    return lines.join(QLatin1Char('\n'));
}

NeuronDrilldownPanel::NeuronDrilldownPanel(QWidget* parent) : QWidget(parent) {
    auto* grid = new QGridLayout(this);
    heading_ = new QLabel(tr("No neuron chosen."), this);
    heading_->setStyleSheet(QStringLiteral("font-weight: bold"));
    connections_ = new XyChart(tr("Connections"), tr("step"), tr("connections"), this);
    norm_ = new XyChart(tr("Weight L2 norm"), tr("step"), tr("||w||"), this);
    salience_ = new XyChart(tr("Salience"), tr("step"), tr("salient connections"), this);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    grid->addWidget(heading_, 0, 0, 1, 3);
    grid->addWidget(connections_, 1, 0);
    grid->addWidget(norm_, 1, 1);
    grid->addWidget(salience_, 1, 2);
    grid->addWidget(summary_, 2, 0, 1, 3);
}

void NeuronDrilldownPanel::setHistory(const NeuronHistory& h) {
    heading_->setText(tr("%1, neuron %2").arg(QString::fromStdString(h.layer)).arg(h.neuron));
    XySeries fanIn{tr("fan-in"), {}}, out{tr("out-degree in %1").arg(QString::fromStdString(h.nextLayer)), {}};
    XySeries norm{tr("||w||"), {}}, salient{tr("salient"), {}}, threshold{tr("ablation threshold"), {}};
    bool ablationOn = false;
    for (const auto& p : h.points) {
        const auto step = static_cast<double>(p.step);
        fanIn.points.push_back({step, static_cast<double>(p.fanIn)});
        out.points.push_back({step, p.outDegree ? static_cast<double>(*p.outDegree) : kMissing});
        norm.points.push_back({step, p.weightNorm ? *p.weightNorm : kMissing});
        salient.points.push_back({step, p.salience.recorded ? static_cast<double>(p.salience.salient) : kMissing});
        threshold.points.push_back({step, p.salience.recorded && p.salience.threshold > 0
                                              ? static_cast<double>(p.salience.threshold)
                                              : kMissing});
        ablationOn |= p.salience.recorded && p.salience.threshold > 0;
    }
    std::vector<XySeries> lines{fanIn};
    if (!h.nextLayer.empty()) lines.push_back(out);
    connections_->setSeries(lines);
    norm_->setSeries({norm});
    salience_->setSeries(ablationOn ? std::vector<XySeries>{salient, threshold} : std::vector<XySeries>{salient});

    // Ablated steps as red crosses on the connections chart (at fan-in 0, where the line drops).
    auto* chart = connections_->chart();
    auto* marks = new QScatterSeries;
    marks->setName(tr("ablated"));
    marks->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    marks->setMarkerSize(9);
    marks->setColor(QColor(220, 60, 50));
    for (const auto& p : h.points)
        if (p.ablated) marks->append(static_cast<double>(p.step), static_cast<double>(p.fanIn));
    ablatedMarkers_ = static_cast<int>(marks->count());
    if (ablatedMarkers_ > 0) {
        chart->addSeries(marks); // the next setSeries removes it with the lines
        for (auto* axis : chart->axes()) marks->attachAxis(axis);
    } else {
        delete marks;
    }
    summary_->setText(neuronSummary(h));
}

QString NeuronDrilldownPanel::headingText() const { return heading_->text(); }
QString NeuronDrilldownPanel::summaryText() const { return summary_->text(); }

} // namespace srigl::studio
