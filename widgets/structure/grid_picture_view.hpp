// One picture of the structure views (connections per pixel, their change, a receptive field):
// the logic's RGBA image scaled up by a whole factor with nearest-neighbour sampling, so every
// input pixel stays a sharp square, with its colour bar, the bar's end values and a caption.
#pragma once

#include "widgets/logic/colour_maps.hpp"

#include <QImage>
#include <QString>
#include <QWidget>

class QLabel;

namespace srigl::studio {

QImage toQImage(const RgbaImage& image);

class GridPictureView : public QWidget {
    Q_OBJECT
public:
    explicit GridPictureView(const QString& title, QWidget* parent = nullptr);

    // low and high: the values at the colour bar's ends, as they should read ("0", "max 12").
    void setPicture(const RgbaImage& picture, ColourMap map, const QString& low, const QString& high,
                    const QString& caption);
    // No picture: the message says why (no previous snapshot, no weights recorded, ...).
    void clear(const QString& message);

    const QImage& image() const { return image_; } // unscaled, one pixel per value
    int scale() const { return scale_; }
    QString caption() const;
    QString lowText() const;
    QString highText() const;

private:
    QImage image_;
    int scale_ = 1;
    QLabel* picture_ = nullptr;
    QWidget* scaleBox_ = nullptr;
    QLabel* bar_ = nullptr;
    QLabel* low_ = nullptr;
    QLabel* high_ = nullptr;
    QLabel* caption_ = nullptr;
};

} // namespace srigl::studio
