// The inspector's ImGui frame: header, the mask (the matrix with zoom/pan/tooltip and fan-in bars,
// or the neuron tiles).
#include "widgets/inspector/mask_inspector_widget.hpp"

#include <imgui.h>

#include <QMetaObject>
#include <QOpenGLContext>
#include <QOpenGLFunctions>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace srigl::studio {

namespace {

ImU32 rgb(const uint8_t c[3], int alpha = 255) { return IM_COL32(c[0], c[1], c[2], alpha); }
ImVec4 rgbVec(const uint8_t c[3]) { return ImVec4(c[0] / 255.0f, c[1] / 255.0f, c[2] / 255.0f, 1.0f); }

const sessions::MaskPalette kPalette;
constexpr ImU32 kBarColour = IM_COL32(110, 150, 210, 255);
constexpr ImU32 kDiffersColour = IM_COL32(240, 70, 60, 255);
constexpr ImU32 kKLineColour = IM_COL32(235, 200, 80, 220);
constexpr ImU32 kHoverColour = IM_COL32(255, 220, 60, 255);
// Brighter than the ablated rows' background, which fills an ablated neuron's tile.
constexpr ImU32 kAblatedTileColour = IM_COL32(170, 90, 220, 255);
constexpr ImU32 kTileGapColour = IM_COL32(48, 48, 56, 255);
constexpr ImU32 kMaskBackground = IM_COL32(8, 8, 10, 255);

void legend(const char* id, const uint8_t colour[3], const char* text) {
    ImGui::ColorButton(id, rgbVec(colour), ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoPicker | ImGuiColorEditFlags_NoDragDrop,
                       ImVec2(12, 12));
    ImGui::SameLine(0, 4);
    ImGui::TextUnformatted(text);
    ImGui::SameLine(0, 14);
}

const char* cellName(MaskInspection::Cell cell) {
    switch (cell) {
    case MaskInspection::Cell::Kept: return "active (kept by the last update)";
    case MaskInspection::Cell::Regrown: return "active (regrown by the last update)";
    case MaskInspection::Cell::Pruned: return "inactive (pruned by the last update)";
    default: return "inactive";
    }
}

// "neuron 4" or "neurons 4-5": one cell's rows or columns.
std::string span(const char* one, const char* many, int64_t first, int64_t count) {
    if (count == 1) return std::string(one) + " " + std::to_string(first);
    return std::string(many) + " " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

// The same for rows [first, first + count) of a mask: a sampled mask's rows are every rowStride-th
// neuron of its layer, named by the layer's numbers.
std::string neuronSpan(const LayerMaskSnapshot& mask, int64_t first, int64_t count) {
    if (!mask.sampled()) return span("neuron", "neurons", first, count);
    if (count == 1) return "neuron " + std::to_string(mask.neuronOf(first));
    return std::to_string(count) + " sampled neurons, " + std::to_string(mask.neuronOf(first)) + " to " +
           std::to_string(mask.neuronOf(first + count - 1));
}

std::string countOf(int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The neurons [first, end) of one cell of the matrix, as its fan-in bar shows them.
struct NeuronRange {
    int64_t count = 0, least = 0, most = 0, ablated = 0, differing = 0;
};

NeuronRange neuronRange(const MaskInspection& m, int64_t first, int64_t end) {
    NeuronRange n;
    n.count = end - first;
    n.least = m.fanIn(first);
    for (int64_t r = first; r < end; ++r) {
        n.least = std::min(n.least, m.fanIn(r));
        n.most = std::max(n.most, m.fanIn(r));
        n.ablated += m.ablated(r) ? 1 : 0;
        n.differing += m.differs(r) ? 1 : 0;
    }
    return n;
}

ImTextureID textureId(unsigned int id) { return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(id)); }

// Fills [p0, p1] except the rectangle [a, b] (the opaque picture): at most four bands, so that no
// pixel is drawn twice.
void fillAround(ImDrawList* dl, ImVec2 p0, ImVec2 p1, ImVec2 a, ImVec2 b, ImU32 colour) {
    a = ImVec2(std::clamp(a.x, p0.x, p1.x), std::clamp(a.y, p0.y, p1.y));
    b = ImVec2(std::clamp(b.x, a.x, p1.x), std::clamp(b.y, a.y, p1.y));
    if (a.y > p0.y) dl->AddRectFilled(p0, ImVec2(p1.x, a.y), colour);
    if (b.y < p1.y) dl->AddRectFilled(ImVec2(p0.x, b.y), p1, colour);
    if (a.x > p0.x) dl->AddRectFilled(ImVec2(p0.x, a.y), ImVec2(a.x, b.y), colour);
    if (b.x < p1.x) dl->AddRectFilled(ImVec2(b.x, a.y), ImVec2(p1.x, b.y), colour);
}

// The mask picture is opaque: drawn without blending, a software renderer (Mesa's llvmpipe under
// Xvfb) need not read what lies under its pixels, which is most of the frame's cost there.
void drawOpaque(const ImDrawList*, const ImDrawCmd*) {
    if (QOpenGLContext* gl = QOpenGLContext::currentContext()) gl->functions()->glDisable(GL_BLEND);
}

} // namespace

MaskInspectorWidget::MaskInspectorWidget(QWidget* parent) : ImGuiGlWidget(parent) {
    setObjectName(QStringLiteral("maskInspector"));
    setMinimumSize(320, 240);
}

void MaskInspectorWidget::setFrame(std::shared_ptr<const InspectorFrame> frame) {
    if (!frame_ || !frame || frame->layer != frame_->layer) tileTransform_.reset(); // zoomed into another layer
    frame_ = std::move(frame);
    message_.clear();
    if (frame_) viewport_.setContent(frame_->inspection->cols(), frame_->inspection->rows());
    textureDirty_ = true;
    // A new snapshot is what the user (or a live run's latency) waits for; hovering and zooming are
    // paced frames.
    requestFramesNow();
}

void MaskInspectorWidget::setMessage(const QString& message) {
    message_ = message;
    requestFrames();
}

void MaskInspectorWidget::clearFrame() {
    frame_.reset();
    textureDirty_ = true;
    requestFrames();
}

void MaskInspectorWidget::setTileView(bool on) {
    if (on != tileView_) tileTransform_.reset();
    tileView_ = on;
    requestFrames();
}

void MaskInspectorWidget::setTileLimit(int side) {
    tileLimit_ = std::max(0, side);
    textureDirty_ = true;
    requestFrames();
}

void MaskInspectorWidget::initializeResources() {
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &maxTextureSize_);
    // Names of an earlier context mean nothing in this one.
    exact_ = {};
    blocks_ = {};
    atlas_ = {};
    blockCounts_.reset();
    atlasBuilt_ = false;
    textureDirty_ = true;
}

void MaskInspectorWidget::releasePicture(GlPicture& picture) {
    if (!picture.ids.empty()) glDeleteTextures(static_cast<int>(picture.ids.size()), picture.ids.data());
    picture.ids.clear();
    picture.tiles.clear();
    picture.held.clear();
}

void MaskInspectorWidget::releaseResources() {
    releasePicture(exact_);
    releasePicture(blocks_);
    releasePicture(atlas_);
    blockCounts_.reset();
    atlasBuilt_ = false;
}

int MaskInspectorWidget::textureSide() const {
    return tileLimit_ > 0 ? std::min(tileLimit_, maxTextureSize_) : maxTextureSize_;
}

void MaskInspectorWidget::uploadTile(GlPicture& into, const uint8_t* rgba, int64_t rowLength, const MaskTile& tile,
                                     const MaskTile& held, Sampling sampling) {
    unsigned int id = 0;
    glGenTextures(1, &id);
    into.tiles.push_back(tile);
    into.held.push_back(held);
    into.ids.push_back(id);
    glBindTexture(GL_TEXTURE_2D, id);
    // The tile is read straight out of the whole picture: the row length and the skips select it.
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, static_cast<int>(rowLength));
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, static_cast<int>(held.col0));
    glPixelStorei(GL_UNPACK_SKIP_ROWS, static_cast<int>(held.row0));
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, static_cast<int>(held.cols), static_cast<int>(held.rows), 0, GL_RGBA,
                 GL_UNSIGNED_BYTE, rgba);
    if (sampling == Sampling::Mipmapped) {
        // Only the neuron tiles are ever drawn smaller than a texel per entry: the matrix aggregates
        // into blocks instead. The nearest mip level, not a blend of two: trilinear sampling cost
        // software OpenGL about a quarter of each frame's CPU time.
        glGenerateMipmap(GL_TEXTURE_2D);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR_MIPMAP_NEAREST);
    } else {
        // SharpEdges: a cell of n texels drawn at under n pixels is minified, and linear sampling
        // then blends two cells only in the pixel that straddles their border.
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER,
                        sampling == Sampling::SharpEdges ? GL_LINEAR : GL_NEAREST);
    }
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST); // every entry or block a crisp cell
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    // Back to the defaults the ImGui backend's own uploads expect.
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
    glBindTexture(GL_TEXTURE_2D, 0);
}

void MaskInspectorWidget::uploadTiled(GlPicture& into, const uint8_t* rgba, int64_t width, int64_t height,
                                      Sampling sampling) {
    const int64_t margin = sampling == Sampling::SharpEdges ? 1 : 0;
    for (const MaskTile& t : tileMask(width, height, std::max<int64_t>(1, textureSide() - 2 * margin))) {
        MaskTile held{std::max<int64_t>(0, t.col0 - margin), std::max<int64_t>(0, t.row0 - margin), 0, 0};
        held.cols = std::min(width, t.col0 + t.cols + margin) - held.col0;
        held.rows = std::min(height, t.row0 + t.rows + margin) - held.row0;
        uploadTile(into, rgba, width, t, held, sampling);
    }
}

void MaskInspectorWidget::uploadTexture() {
    if (!textureDirty_ || !glReady()) return;
    textureDirty_ = false;
    textureError_.clear();
    tileError_.clear();
    releaseResources();
    if (!frame_) return;
    if (textureSide() < 1) {
        textureError_ = tr("this OpenGL context reports no usable texture size");
        return;
    }
    // Single entries are shown only at a pixel or more each (the matrix aggregates below that).
    uploadTiled(exact_, frame_->rgba.data(), frame_->inspection->cols(), frame_->inspection->rows(), Sampling::Nearest);
}

void MaskInspectorWidget::uploadBlocks() {
    const int64_t rows = viewport_.rowsPerCell(), cols = viewport_.colsPerCell();
    // Aggregated cells are mostly a fraction over a whole number of pixels (Fit of fc1 in a 717 x 527
    // view: 1.83 x 1.76). Texel for pixel they would come out 1 or 2 pixels wide in a visible beat;
    // as ceil(size) texels each (at most 4), drawn minified with linear sampling, they keep their
    // size and only the pixel on a border mixes the two cells it straddles.
    const auto texels = [](double side) {
        return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(side - 1e-6)), 1, 4);
    };
    const int64_t across = texels(viewport_.cellWidth()), down = texels(viewport_.cellHeight());
    const bool sameBlocks = blockCounts_ && blockCounts_->rowsPerCell() == rows && blockCounts_->colsPerCell() == cols;
    if (sameBlocks && across == blockTexelsAcross_ && down == blockTexelsDown_) return;
    releasePicture(blocks_);
    const MaskInspection& m = *frame_->inspection;
    // Built here, on the UI thread, when a snapshot, a zoom step or a resize changes the blocks: a few
    // ms for fc1, some 50 for a 4096 x 4096 layer (2-core test machine); other frames reuse them.
    try {
        if (!sameBlocks) blockCounts_ = std::make_unique<sessions::MaskBlocks>(m.mask(), m.previousMask(), rows, cols);
    } catch (const std::invalid_argument& e) { // blocks beyond 32-bit counts: nothing sane to draw
        blockCounts_.reset();
        textureError_ = QString::fromUtf8(e.what());
        return;
    }
    blockTexelsAcross_ = across;
    blockTexelsDown_ = down;
    blockCounts_->rgbaInto(blockTexels_, kPalette, across, down);
    uploadTiled(blocks_, blockTexels_.data(), blockCounts_->gridCols() * across, blockCounts_->gridRows() * down,
                Sampling::SharpEdges);
}

void MaskInspectorWidget::uploadAtlas() {
    if (atlasBuilt_ || !frame_ || !textureError_.isEmpty()) return;
    atlasBuilt_ = true;
    releasePicture(atlas_);
    const MaskInspection& m = *frame_->inspection;
    try {
        atlasLayout_ = neuronTileAtlas(m.rows(), neuronTileShape(m.cols()), textureSide());
        for (int64_t t = 0; t < atlasLayout_.textures; ++t) {
            const std::vector<uint8_t> texels = atlasPixels(atlasLayout_, t, frame_->rgba);
            const int64_t width = atlasLayout_.textureWidth(t), height = atlasLayout_.textureHeight(t);
            const MaskTile whole{0, 0, width, height};
            uploadTile(atlas_, texels.data(), width, whole, whole, Sampling::Mipmapped);
        }
    } catch (const std::invalid_argument& e) {
        releasePicture(atlas_);
        tileError_ = QString::fromUtf8(e.what());
    }
}

void MaskInspectorWidget::drawUi() {
    const ImGuiIO& io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(io.DisplaySize);
    // No window background: the frame is cleared to the same colour, and with software OpenGL every
    // full-window fill costs milliseconds (docs/studio.md, "Live frame budget").
    ImGui::Begin("##inspector", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoBackground);
    uploadTexture();
    if (frame_ && frame_.get() != latencyMeasured_ && frame_->publishedAt != std::chrono::steady_clock::time_point{}) {
        latencyMeasured_ = frame_.get();
        liveLatenciesMs_.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - frame_->publishedAt).count());
    }
    if (!frame_) {
        ImGui::TextWrapped("%s", message_.isEmpty() ? "Select a run (or start one) to inspect its masks."
                                                     : qPrintable(message_));
        ImGui::End();
        return;
    }
    drawHeader();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float height = std::max(40.0f, avail.y);
    if (tileView_) {
        drawNeuronTiles(std::max(40.0f, avail.x), height);
    } else {
        const float spacing = ImGui::GetStyle().ItemSpacing.x;
        const float barsWidth = std::clamp(avail.x * 0.18f, 60.0f, 160.0f);
        drawMask(std::max(40.0f, avail.x - barsWidth - spacing), height);
        ImGui::SameLine();
        drawFanInBars(barsWidth, height);
    }
    ImGui::End();
}

void MaskInspectorWidget::drawHeader() {
    const InspectorFrame& f = *frame_;
    const MaskInspection& m = *f.inspection;
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("layer");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    if (ImGui::BeginCombo("##layer", f.layer.c_str())) {
        for (const auto& name : f.layers) {
            const bool selected = name == f.layer;
            if (ImGui::Selectable(name.c_str(), selected) && !selected) Q_EMIT layerChosen(QString::fromStdString(name));
            if (selected) ImGui::SetItemDefaultFocus();
        }
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::Text("run %lld, step %lld", static_cast<long long>(f.runId), static_cast<long long>(f.maskStep));
    if (f.maskStep != f.step) {
        ImGui::SameLine();
        ImGui::TextDisabled("(latest snapshot at or before %lld)", static_cast<long long>(f.step));
    }
    ImGui::SameLine();
    if (m.mask().sampled())
        ImGui::Text("  %lld of %lld neurons x %lld inputs", static_cast<long long>(m.rows()),
                    static_cast<long long>(m.mask().layerRows()), static_cast<long long>(m.cols()));
    else
        ImGui::Text("  %lld neurons x %lld inputs", static_cast<long long>(m.rows()), static_cast<long long>(m.cols()));
    if (!tileView_) {
        ImGui::SameLine();
        if (ImGui::SmallButton("Fit")) viewport_.fit();
    }
    if (!message_.isEmpty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.4f, 1.0f), "%s", qPrintable(message_));
    }
    if (ImGui::RadioButton("matrix", !tileView_)) setTileView(false);
    ImGui::SameLine();
    if (ImGui::RadioButton("neuron tiles", tileView_)) setTileView(true);
    ImGui::SameLine();
    if (tileView_) {
        const NeuronTileShape shape = neuronTileShape(m.cols());
        std::string as = std::to_string(shape.height) + " x " + std::to_string(shape.width);
        if (shape.planes > 1) as = std::to_string(shape.planes) + " x " + as;
        if (shape.planes * shape.height * shape.width > shape.fanIn) as += " (the last row partly empty)";
        ImGui::TextDisabled("each tile: one neuron's %lld inputs as %s", static_cast<long long>(m.cols()), as.c_str());
    } else if (viewport_.exact()) {
        ImGui::TextDisabled("each cell: one connection");
    } else {
        // The aggregation is part of what the picture says: a cell is not a connection here.
        ImGui::TextColored(ImVec4(0.95f, 0.8f, 0.4f, 1.0f), "each cell: %s x %s",
                           countOf(viewport_.rowsPerCell(), "neuron", "neurons").c_str(),
                           countOf(viewport_.colsPerCell(), "input", "inputs").c_str());
    }

    char text[96];
    std::snprintf(text, sizeof text, "kept %lld", static_cast<long long>(m.kept()));
    legend("##kept", kPalette.active, text);
    if (m.hasPrevious()) {
        std::snprintf(text, sizeof text, "pruned %lld", static_cast<long long>(m.pruned()));
        legend("##pruned", kPalette.pruned, text);
        std::snprintf(text, sizeof text, "regrown %lld", static_cast<long long>(m.regrown()));
        legend("##regrown", kPalette.regrown, text);
    }
    legend("##inactive", kPalette.inactive, "inactive");
    std::snprintf(text, sizeof text, "ablated neurons %zu", m.mask().ablated.size());
    legend("##ablated", kPalette.ablatedRow, text);
    ImGui::NewLine();
    if (!m.hasPrevious()) ImGui::TextDisabled("first snapshot: no update to compare with");
    if (m.mask().sampled())
        // Too large to snapshot whole: the rows are a sample, and every count here is of the sample.
        ImGui::TextColored(ImVec4(0.95f, 0.8f, 0.4f, 1.0f), "%s neuron (0, %lld, %lld, ...): each drawn row is "
                           "whole, counts are of these rows",
                           everyNth(m.mask().rowStride).c_str(), static_cast<long long>(m.mask().rowStride),
                           static_cast<long long>(2 * m.mask().rowStride));

    const long long active = static_cast<long long>(m.rows() - static_cast<int64_t>(m.mask().ablated.size()));
    if (m.k() > 0) {
        ImGui::Text("k = %lld, %lld active neurons:", static_cast<long long>(m.k()), active);
        ImGui::SameLine();
        if (m.offenders().empty()) {
            ImGui::TextColored(ImVec4(0.45f, 0.85f, 0.5f, 1.0f), "every active neuron has exactly k connections");
        } else {
            std::string ids;
            for (size_t i = 0; i < m.offenders().size() && i < 8; ++i)
                ids += (i ? ", " : "") + std::to_string(m.mask().neuronOf(m.offenders()[i]));
            if (m.offenders().size() > 8) ids += ", ...";
            ImGui::TextColored(ImVec4(0.95f, 0.3f, 0.25f, 1.0f), "%zu neurons differ from k (%s)", m.offenders().size(), ids.c_str());
        }
    } else {
        ImGui::Text("%lld active neurons; no constant fan-in for this method (k = 0)", active);
    }
    // Short enough for the narrow default dock: the tooltip says the rest.
    ImGui::TextDisabled("at this step: %s, %s", m.hasWeights() ? "weights recorded" : "no weights recorded",
                        m.hasGradients() ? "gradients recorded" : "no gradient (RigL/SRigL updates only)");
    if (!textureError_.isEmpty()) ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.4f, 1.0f), "%s", qPrintable(textureError_));
}

void MaskInspectorWidget::drawPicture(const GlPicture& picture, double texelWidth, double texelHeight, float x0,
                                      float y0, float width, float height) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const QPointF o = viewport_.origin();
    dl->AddCallback(drawOpaque, nullptr);
    for (size_t i = 0; i < picture.ids.size(); ++i) {
        const MaskTile& t = picture.tiles[i];
        const QRectF r(o.x() + static_cast<double>(t.col0) * texelWidth,
                       o.y() + static_cast<double>(t.row0) * texelHeight, static_cast<double>(t.cols) * texelWidth,
                       static_cast<double>(t.rows) * texelHeight);
        if (!r.intersects(QRectF(0, 0, width, height))) continue; // off screen
        const MaskTile& h = picture.held[i];
        const ImVec2 uv0(static_cast<float>(t.col0 - h.col0) / static_cast<float>(h.cols),
                         static_cast<float>(t.row0 - h.row0) / static_cast<float>(h.rows));
        const ImVec2 uv1(uv0.x + static_cast<float>(t.cols) / static_cast<float>(h.cols),
                         uv0.y + static_cast<float>(t.rows) / static_cast<float>(h.rows));
        dl->AddImage(textureId(picture.ids[i]),
                     ImVec2(x0 + static_cast<float>(r.left()), y0 + static_cast<float>(r.top())),
                     ImVec2(x0 + static_cast<float>(r.right()), y0 + static_cast<float>(r.bottom())), uv0, uv1);
    }
    dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr); // blending back on for what follows
}

void MaskInspectorWidget::drawMask(float width, float height) {
    const ImGuiIO& io = ImGui::GetIO();
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    pictureArea_ = QRectF(p0.x, p0.y, width, height);
    viewport_.setViewSize(QSizeF(width, height));
    ImGui::InvisibleButton("##mask", ImVec2(width, height));
    const bool hovered = ImGui::IsItemHovered();
    const QPointF mouse(io.MousePos.x - p0.x, io.MousePos.y - p0.y);
    if (hovered && io.MouseWheel != 0.0f) viewport_.zoomAt(mouse, std::pow(1.25, static_cast<double>(io.MouseWheel)));
    if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f)) {
        viewport_.panBy(QPointF(io.MouseDelta.x, io.MouseDelta.y));
        ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeAll);
    }
    if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) viewport_.fit();

    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 p1(p0.x + width, p0.y + height);
    dl->PushClipRect(p0, p1, true);
    const QRectF picture = viewport_.pictureRect();
    const ImVec2 a(p0.x + static_cast<float>(picture.left()), p0.y + static_cast<float>(picture.top()));
    const ImVec2 b(p0.x + static_cast<float>(picture.right()), p0.y + static_cast<float>(picture.bottom()));
    if (!textureError_.isEmpty()) dl->AddRectFilled(p0, p1, kMaskBackground); // no picture to draw
    else {
        fillAround(dl, p0, p1, a, b, kMaskBackground);
        if (viewport_.exact()) {
            drawPicture(exact_, viewport_.zoomX(), viewport_.zoomY(), p0.x, p0.y, width, height);
        } else {
            uploadBlocks();
            drawPicture(blocks_, viewport_.cellWidth() / static_cast<double>(blockTexelsAcross_),
                        viewport_.cellHeight() / static_cast<double>(blockTexelsDown_), p0.x, p0.y, width, height);
        }
    }
    dl->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), IM_COL32(90, 90, 100, 255));
    // Neurons whose fan-in differs from k: a red tick left of their row (or of their block's row of
    // cells), visible at any zoom.
    const auto cellHeight = static_cast<float>(viewport_.cellHeight());
    for (int64_t r : frame_->inspection->offenders()) {
        const float y = p0.y + static_cast<float>(viewport_.rowTop(r));
        dl->AddRectFilled(ImVec2(a.x - 6, y), ImVec2(a.x - 2, y + std::max(1.0f, cellHeight)), kDiffersColour);
    }
    std::optional<MaskCell> cell;
    if (hovered && !ImGui::IsItemActive()) cell = viewport_.hitCell(mouse);
    if (cell && viewport_.cellWidth() >= 4.0 && cellHeight >= 4.0f) {
        const QRectF r =
            viewport_.cellsRect(cell->col0 / viewport_.colsPerCell(), cell->row0 / viewport_.rowsPerCell(), 1, 1);
        dl->AddRect(ImVec2(p0.x + static_cast<float>(r.left()), p0.y + static_cast<float>(r.top())),
                    ImVec2(p0.x + static_cast<float>(r.right()), p0.y + static_cast<float>(r.bottom())), kHoverColour);
    }
    dl->PopClipRect();
    if (cell && viewport_.exact())
        drawTooltip(MaskEntry{cell->row0, cell->col0});
    else if (cell && blockCounts_ && blockCounts_->rowsPerCell() == viewport_.rowsPerCell() &&
             blockCounts_->colsPerCell() == viewport_.colsPerCell())
        drawBlockTooltip(*cell);
    // Right-click: the neuron of the entry (or the first of the block) under the cursor opens in the
    // structure dock.
    if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right))
        if (auto at = viewport_.hit(mouse)) requestNeuron(at->row);
}

void MaskInspectorWidget::drawNeuronTiles(float width, float height) {
    const MaskInspection& m = *frame_->inspection;
    const ImGuiIO& io = ImGui::GetIO();
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    pictureArea_ = QRectF(p0.x, p0.y, width, height);
    ImGui::InvisibleButton("##tiles", ImVec2(width, height));
    const bool hovered = ImGui::IsItemHovered();
    // A click opens the neuron on release, unless the mouse moved: a press that drags pans instead.
    const bool clicked = ImGui::IsItemDeactivated() && hovered && io.MouseDragMaxDistanceSqr[ImGuiMouseButton_Left] < 9.0f;
    const bool dragging = ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 3.0f);
    const bool doubleClicked = hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left);
    uploadAtlas();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 p1(p0.x + width, p0.y + height);
    dl->PushClipRect(p0, p1, true);
    // Lighter than the tiles' inactive colour: the gaps between tiles read as a grid.
    dl->AddRectFilled(p0, p1, kTileGapColour);
    const NeuronTileShape& shape = atlasLayout_.shape;
    if (atlas_.ids.empty()) {
        tileGrid_ = NeuronTileGrid{};
        dl->PopClipRect();
        if (!tileError_.isEmpty()) ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.4f, 1.0f), "%s", qPrintable(tileError_));
        return;
    }
    // Wheel: zoom about the cursor (up to kMaxPixelsPerEntry per input); drag: pan; double-click: fit.
    const NeuronTileGrid fitted = layoutNeuronTiles(m.rows(), shape, width, height);
    const QPointF mouse(io.MousePos.x - p0.x, io.MousePos.y - p0.y);
    if (hovered && io.MouseWheel != 0.0f)
        tileTransform_.zoomAt(mouse.x(), mouse.y(), std::pow(1.25, static_cast<double>(io.MouseWheel)), maxTileZoom(fitted));
    if (dragging) {
        tileTransform_.panBy(io.MouseDelta.x, io.MouseDelta.y);
        ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeAll);
    }
    if (doubleClicked) tileTransform_.reset();
    tileGrid_ = tileTransform_.apply(fitted);
    const auto tw = static_cast<float>(shape.pixelWidth()), th = static_cast<float>(shape.pixelHeight());
    for (int64_t n = 0; n < m.rows(); ++n) {
        const ImVec2 t0(p0.x + static_cast<float>(tileGrid_.tileX(n)), p0.y + static_cast<float>(tileGrid_.tileY(n)));
        const ImVec2 t1(t0.x + static_cast<float>(tileGrid_.tileWidth),
                        t0.y + static_cast<float>(tileGrid_.tileHeight));
        if (t1.x < p0.x || t1.y < p0.y || t0.x > p1.x || t0.y > p1.y) continue; // zoomed out of view
        const int64_t texture = atlasLayout_.textureOf(n);
        const auto w = static_cast<float>(atlasLayout_.textureWidth(texture));
        const auto h = static_cast<float>(atlasLayout_.textureHeight(texture));
        const ImVec2 uv0(static_cast<float>(atlasLayout_.texelX(n)) / w,
                         static_cast<float>(atlasLayout_.texelY(n)) / h);
        dl->AddImage(textureId(atlas_.ids[static_cast<size_t>(texture)]), t0, t1, uv0,
                     ImVec2(uv0.x + tw / w, uv0.y + th / h));
        // A wrong fan-in matters more than the ablation (an ablated neuron with connections is wrong).
        if (m.differs(n))
            dl->AddRect(ImVec2(t0.x - 1, t0.y - 1), ImVec2(t1.x + 1, t1.y + 1), kDiffersColour);
        else if (m.ablated(n))
            dl->AddRect(ImVec2(t0.x - 1, t0.y - 1), ImVec2(t1.x + 1, t1.y + 1), kAblatedTileColour);
    }
    const int64_t neuron = hovered && !dragging ? tileGrid_.neuronAt(mouse.x(), mouse.y()) : -1;
    if (neuron >= 0) {
        const ImVec2 t0(p0.x + static_cast<float>(tileGrid_.tileX(neuron)),
                        p0.y + static_cast<float>(tileGrid_.tileY(neuron)));
        dl->AddRect(ImVec2(t0.x - 1, t0.y - 1),
                    ImVec2(t0.x + static_cast<float>(tileGrid_.tileWidth) + 1,
                           t0.y + static_cast<float>(tileGrid_.tileHeight) + 1),
                    kHoverColour, 0.0f, 0, 2.0f);
    }
    dl->PopClipRect();
    if (neuron < 0) return;
    drawTileTooltip(neuron, tileGrid_.inputAt(shape, mouse.x(), mouse.y()));
    if (clicked) requestNeuron(neuron);
}

void MaskInspectorWidget::requestNeuron(int64_t row) {
    // Emitted after this frame, outside ImGui's frame and the paint event.
    const QString layer = QString::fromStdString(frame_->layer);
    QMetaObject::invokeMethod(this, [this, layer, row] { Q_EMIT neuronClicked(layer, static_cast<int>(row)); },
                              Qt::QueuedConnection);
}

void MaskInspectorWidget::drawFanInBars(float width, float height) {
    const MaskInspection& m = *frame_->inspection;
    const ImVec2 q0 = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton("##fanin", ImVec2(width, height));
    const bool hovered = ImGui::IsItemHovered();
    if (ImGui::IsItemClicked(ImGuiMouseButton_Left)) {
        // A click on a neuron's bar opens it in the structure dock (the first of a block's neurons).
        const int64_t row = viewport_.rowAt(ImGui::GetIO().MousePos.y - q0.y);
        if (row >= 0 && row < frame_->inspection->rows()) requestNeuron(row);
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 q1(q0.x + width, q0.y + height);
    dl->PushClipRect(q0, q1, true);
    dl->AddRectFilled(q0, q1, IM_COL32(20, 20, 24, 255));
    const double scale = static_cast<double>(width - 4) / static_cast<double>(std::max<int64_t>({m.maxFanIn(), m.k(), 1}));
    const int64_t rows = m.rows(), perCell = viewport_.rowsPerCell();
    // One bar per cell of the matrix, on its rows: a block of neurons shows its largest fan-in, red
    // if any of them differs from k, purple if all are ablated.
    const auto cellHeight = static_cast<float>(viewport_.cellHeight());
    const float gap = cellHeight >= 4.0f ? 1.0f : 0.0f;
    const int64_t first = std::max<int64_t>(0, viewport_.rowAt(0)), last = std::min(rows - 1, viewport_.rowAt(height));
    for (int64_t r0 = first; r0 <= last; r0 += perCell) {
        const NeuronRange n = neuronRange(m, r0, std::min(rows, r0 + perCell));
        const bool differs = n.differing > 0;
        const float y0 = q0.y + static_cast<float>(viewport_.rowTop(r0)), y1 = y0 + cellHeight - gap;
        if (n.ablated == n.count) dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q1.x, y1), rgb(kPalette.ablatedRow));
        const auto len = static_cast<float>(static_cast<double>(n.most) * scale);
        if (len > 0) dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q0.x + len, y1), differs ? kDiffersColour : kBarColour);
        else if (differs)
            dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q0.x + 3, y1), kDiffersColour);
    }
    if (m.k() > 0) {
        const float x = q0.x + static_cast<float>(static_cast<double>(m.k()) * scale);
        dl->AddLine(ImVec2(x, q0.y), ImVec2(x, q1.y), kKLineColour);
    }
    dl->PopClipRect();
    if (!hovered) return;
    const int64_t r0 = viewport_.rowAt(ImGui::GetIO().MousePos.y - q0.y);
    if (r0 < 0 || r0 >= rows) return;
    const int64_t r1 = std::min(rows, r0 + perCell);
    const NeuronRange n = neuronRange(m, r0, r1);
    const int64_t least = n.least, most = n.most, ablated = n.ablated, differing = n.differing;
    ImGui::BeginTooltip();
    if (r1 - r0 == 1)
        ImGui::Text("%s: fan-in %lld", neuronSpan(m.mask(), r0, 1).c_str(), static_cast<long long>(most));
    else
        ImGui::Text("%s: fan-in %lld to %lld", neuronSpan(m.mask(), r0, r1 - r0).c_str(),
                    static_cast<long long>(least), static_cast<long long>(most));
    if (m.k() > 0) ImGui::Text("k = %lld", static_cast<long long>(m.k()));
    if (r1 - r0 == 1 && ablated)
        ImGui::TextUnformatted("ablated");
    else if (ablated)
        ImGui::Text("%lld of them ablated", static_cast<long long>(ablated));
    if (r1 - r0 == 1 && differing)
        ImGui::TextColored(ImVec4(0.95f, 0.3f, 0.25f, 1.0f), "differs from what it must be");
    else if (differing)
        ImGui::TextColored(ImVec4(0.95f, 0.3f, 0.25f, 1.0f), "%lld of them differ from what they must be",
                           static_cast<long long>(differing));
    ImGui::EndTooltip();
}

void MaskInspectorWidget::drawTooltip(const MaskEntry& e) {
    const MaskInspection& m = *frame_->inspection;
    ImGui::BeginTooltip();
    ImGui::Text("%s, input %lld", neuronSpan(m.mask(), e.row, 1).c_str(), static_cast<long long>(e.col));
    ImGui::TextUnformatted(cellName(m.cell(e.row, e.col)));
    if (m.ablated(e.row)) ImGui::TextUnformatted("neuron ablated");
    ImGui::Text("fan-in of this neuron: %lld", static_cast<long long>(m.fanIn(e.row)));
    if (const auto w = m.weight(e.row, e.col)) ImGui::Text("weight: %.4g", static_cast<double>(*w));
    else if (!m.active(e.row, e.col)) ImGui::TextUnformatted("weight: none (inactive connection)");
    else ImGui::Text("weight: not recorded at step %lld", static_cast<long long>(frame_->maskStep));
    if (const auto g = m.gradient(e.row, e.col)) ImGui::Text("gradient: %.4g", static_cast<double>(*g));
    else ImGui::Text("gradient: not recorded at step %lld", static_cast<long long>(frame_->maskStep));
    ImGui::EndTooltip();
}

void MaskInspectorWidget::drawBlockTooltip(const MaskCell& cell) {
    const MaskInspection& m = *frame_->inspection;
    const sessions::MaskBlock b = blockCounts_->blockOf(cell.row0, cell.col0);
    ImGui::BeginTooltip();
    ImGui::Text("%s, %s", neuronSpan(m.mask(), b.row0, b.rows).c_str(),
                span("input", "inputs", b.col0, b.cols).c_str());
    ImGui::Text("%lld of these %lld connections active", static_cast<long long>(b.active()),
                static_cast<long long>(b.entries()));
    if (m.hasPrevious())
        ImGui::Text("kept %lld, regrown %lld, pruned %lld by the last update", static_cast<long long>(b.kept),
                    static_cast<long long>(b.regrown), static_cast<long long>(b.pruned));
    if (b.ablatedRows > 0) ImGui::Text("%s ablated", countOf(b.ablatedRows, "neuron", "neurons").c_str());
    ImGui::TextDisabled("zoom in (wheel) for single connections");
    ImGui::EndTooltip();
}

void MaskInspectorWidget::drawTileTooltip(int64_t neuron, int64_t input) {
    const MaskInspection& m = *frame_->inspection;
    ImGui::BeginTooltip();
    ImGui::Text("%s: fan-in %lld", neuronSpan(m.mask(), neuron, 1).c_str(), static_cast<long long>(m.fanIn(neuron)));
    if (m.k() > 0) ImGui::Text("k = %lld", static_cast<long long>(m.k()));
    if (m.ablated(neuron)) ImGui::TextUnformatted("ablated");
    if (m.differs(neuron)) ImGui::TextColored(ImVec4(0.95f, 0.3f, 0.25f, 1.0f), "differs from what it must be");
    if (input >= 0) ImGui::Text("input %lld: %s", static_cast<long long>(input), cellName(m.cell(neuron, input)));
    ImGui::TextDisabled("click: open the neuron");
    ImGui::EndTooltip();
}

} // namespace srigl::studio
