// Scaled once per setPicture into a QLabel's pixmap: the pictures are small (at most 98 x 32
// input pixels) and change only when the data does.
#include "widgets/structure/grid_picture_view.hpp"

#include <QGridLayout>
#include <QLabel>
#include <QPixmap>

#include <algorithm>
#include <cstring>

namespace srigl::studio {

namespace {

constexpr int kPictureSide = 224; // the longer side of a scaled picture, at least
constexpr int kBarHeight = 10;

} // namespace

QImage toQImage(const RgbaImage& image) {
    QImage out(image.width, image.height, QImage::Format_RGBA8888);
    for (int y = 0; y < image.height; ++y)
        std::memcpy(out.scanLine(y), image.pixels.data() + static_cast<size_t>(y) * image.width * 4,
                    static_cast<size_t>(image.width) * 4);
    return out;
}

GridPictureView::GridPictureView(const QString& title, QWidget* parent) : QWidget(parent) {
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(2, 2, 2, 2);
    auto* heading = new QLabel(title, this);
    heading->setStyleSheet(QStringLiteral("font-weight: bold"));
    picture_ = new QLabel(this);
    picture_->setAlignment(Qt::AlignCenter);
    picture_->setMinimumSize(kPictureSide, kPictureSide / 2);
    // The bar and its end values share one box as wide as the bar, so the values sit at its ends.
    scaleBox_ = new QWidget(this);
    auto* scaleGrid = new QGridLayout(scaleBox_);
    scaleGrid->setContentsMargins(0, 0, 0, 0);
    scaleGrid->setVerticalSpacing(1);
    bar_ = new QLabel(scaleBox_);
    low_ = new QLabel(scaleBox_);
    high_ = new QLabel(scaleBox_);
    high_->setAlignment(Qt::AlignRight);
    scaleGrid->addWidget(bar_, 0, 0, 1, 2);
    scaleGrid->addWidget(low_, 1, 0);
    scaleGrid->addWidget(high_, 1, 1);
    caption_ = new QLabel(this);
    caption_->setWordWrap(true);
    grid->addWidget(heading, 0, 0);
    grid->addWidget(picture_, 1, 0);
    grid->addWidget(scaleBox_, 2, 0, Qt::AlignHCenter);
    grid->addWidget(caption_, 3, 0);
    grid->setRowStretch(1, 1);
}

void GridPictureView::setPicture(const RgbaImage& picture, ColourMap map, const QString& low, const QString& high,
                                 const QString& caption) {
    image_ = toQImage(picture);
    scale_ = std::max(1, kPictureSide / std::max({1, picture.width, picture.height}));
    // FastTransformation samples the nearest pixel: no blur between neighbouring inputs.
    picture_->setPixmap(QPixmap::fromImage(
        image_.scaled(picture.width * scale_, picture.height * scale_, Qt::IgnoreAspectRatio, Qt::FastTransformation)));
    const int barWidth = std::max(picture.width * scale_, kPictureSide);
    bar_->setPixmap(QPixmap::fromImage(
        toQImage(colourBar(map, 256)).scaled(barWidth, kBarHeight, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)));
    scaleBox_->setFixedWidth(barWidth);
    scaleBox_->show();
    low_->setText(low);
    high_->setText(high);
    caption_->setText(caption);
}

void GridPictureView::clear(const QString& message) {
    image_ = QImage();
    scale_ = 1;
    picture_->setPixmap(QPixmap());
    picture_->setText(message);
    bar_->setPixmap(QPixmap());
    scaleBox_->hide();
    low_->clear();
    high_->clear();
    caption_->clear();
}

QString GridPictureView::caption() const { return caption_->text(); }
QString GridPictureView::lowText() const { return low_->text(); }
QString GridPictureView::highText() const { return high_->text(); }

} // namespace srigl::studio
