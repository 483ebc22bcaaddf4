// The weight heatmap dock: the inspector's layer and step as an OpenCV colour-map picture (choice
// of map, symmetric range, log scale) in a zoomable view (wheel around the cursor, drag to pan).
// Rendering runs on a background thread; only the latest request is rendered.
#pragma once

#include "widgets/inspector/snapshot_source.hpp"
#include "widgets/heatmap/weight_heatmap.hpp"

#include <QImage>
#include <QThreadPool>
#include <QWidget>

#include <memory>

class QCheckBox;
class QComboBox;
class QGraphicsPixmapItem;
class QGraphicsScene;
class QGraphicsView;
class QLabel;

namespace srigl::studio {

class WeightHeatmapPanel : public QWidget {
    Q_OBJECT
public:
    explicit WeightHeatmapPanel(QWidget* parent = nullptr);
    ~WeightHeatmapPanel() override;

    HeatmapOptions options() const;
    QComboBox* layerBox() const { return layer_; }
    QComboBox* colormapBox() const { return colormap_; }
    QCheckBox* symmetricBox() const { return symmetric_; }
    QCheckBox* logScaleBox() const { return log_; }
    QImage image() const { return image_; }
    QString status() const;
    bool rendering() const { return busy_; }

public Q_SLOTS:
    void setFrame(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    void clearFrame();

Q_SIGNALS:
    void rendered();
    // The user picked another layer (the inspector and this panel show the same one).
    void layerChosen(const QString& layer);

protected:
    // A hidden panel (a tab behind another) renders nothing: the live run's frames would cost the
    // cores training and the visible views need. It renders the latest frame when shown.
    void showEvent(QShowEvent* event) override;

private:
    void render();
    void startRender();
    void display(const QImage& image, const QString& text);

    std::shared_ptr<const InspectorFrame> frame_;
    QComboBox* layer_ = nullptr;
    QComboBox* colormap_ = nullptr;
    QCheckBox* symmetric_ = nullptr;
    QCheckBox* log_ = nullptr;
    QLabel* status_ = nullptr;
    QGraphicsScene* scene_ = nullptr;
    QGraphicsView* view_ = nullptr;
    QGraphicsPixmapItem* item_ = nullptr;
    QImage image_;
    bool busy_ = false, pending_ = false;
    bool fitted_ = false;
    QThreadPool pool_;
    bool stale_ = false; // a frame came while hidden
};

} // namespace srigl::studio
