// One neuron over the run's stored steps, as small charts: its fan-in and its out-degree in the
// next layer (ablated steps marked), the L2 norm of its weights, and its SRigL salience against
// the ablation threshold, with a summary that says where something was not recorded. It takes
// the logic's NeuronHistory; it reads no store.
#pragma once

#include "widgets/logic/neuron_history.hpp"

#include <QString>
#include <QWidget>

class QLabel;

namespace srigl::studio {

class XyChart;

QString neuronSummary(const NeuronHistory& history);

class NeuronDrilldownPanel : public QWidget {
    Q_OBJECT
public:
    explicit NeuronDrilldownPanel(QWidget* parent = nullptr);

    void setHistory(const NeuronHistory& history);

    const XyChart* connectionsChart() const { return connections_; }
    const XyChart* weightNormChart() const { return norm_; }
    const XyChart* salienceChart() const { return salience_; }
    int ablatedMarkers() const { return ablatedMarkers_; } // points of the "ablated" marker series
    QString headingText() const;
    QString summaryText() const;

private:
    QLabel* heading_ = nullptr;
    XyChart* connections_ = nullptr;
    XyChart* norm_ = nullptr;
    XyChart* salience_ = nullptr;
    QLabel* summary_ = nullptr;
    int ablatedMarkers_ = 0;
};

} // namespace srigl::studio
