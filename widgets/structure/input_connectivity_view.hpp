// What the first layer reads of the input image: connections per pixel (per channel and kernel
// position for a conv) with its colour bar and maximum, the change since the previous snapshot
// beside it, and one neuron's receptive field (its mask and, when recorded, its weights) laid out
// as the image. It takes the logic's results; it reads no store.
#pragma once

#include "widgets/logic/input_connectivity.hpp"

#include <QString>
#include <QWidget>

#include <optional>
#include <vector>

class QLabel;
class QSpinBox;

namespace srigl::studio {

class GridPictureView;

class InputConnectivityView : public QWidget {
    Q_OBJECT
public:
    explicit InputConnectivityView(QWidget* parent = nullptr);

    // mask: the first layer's snapshot the connectivity was computed from; weights: its active
    // weights in mask order at the same step (none when not recorded). Keeps the chosen neuron when
    // it still exists.
    void setData(const InputConnectivity& connectivity, const LayerMaskSnapshot& mask,
                 std::optional<std::vector<float>> weights = std::nullopt);

    int neuron() const { return neuron_; }
    QString summaryText() const;
    const GridPictureView* connectionsPicture() const { return connections_; }
    const GridPictureView* changePicture() const { return change_; }
    const GridPictureView* fieldMaskPicture() const { return fieldMask_; }
    const GridPictureView* fieldWeightsPicture() const { return fieldWeights_; }

public Q_SLOTS:
    void setNeuron(int neuron);

Q_SIGNALS:
    void neuronChanged(int neuron);

private:
    void showField();

    std::optional<InputConnectivity> connectivity_;
    LayerMaskSnapshot mask_;
    std::optional<std::vector<float>> weights_;
    int neuron_ = 0;
    QLabel* summary_ = nullptr;
    QSpinBox* neuronBox_ = nullptr;
    GridPictureView* connections_ = nullptr;
    GridPictureView* change_ = nullptr;
    GridPictureView* fieldMask_ = nullptr;
    GridPictureView* fieldWeights_ = nullptr;
};

} // namespace srigl::studio
