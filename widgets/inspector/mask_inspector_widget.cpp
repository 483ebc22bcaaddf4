// The inspector's ImGui frame: header, mask texture with zoom/pan/tooltip, fan-in bars.
#include "widgets/inspector/mask_inspector_widget.hpp"

#include <imgui.h>

#include <QMetaObject>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace srigl::studio {

namespace {

ImU32 rgb(const uint8_t c[3], int alpha = 255) { return IM_COL32(c[0], c[1], c[2], alpha); }
ImVec4 rgbVec(const uint8_t c[3]) { return ImVec4(c[0] / 255.0f, c[1] / 255.0f, c[2] / 255.0f, 1.0f); }

const sessions::MaskPalette kPalette;
constexpr ImU32 kBarColour = IM_COL32(110, 150, 210, 255);
constexpr ImU32 kDiffersColour = IM_COL32(240, 70, 60, 255);
constexpr ImU32 kKLineColour = IM_COL32(235, 200, 80, 220);

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

} // namespace

MaskInspectorWidget::MaskInspectorWidget(QWidget* parent) : ImGuiGlWidget(parent) {
    setObjectName(QStringLiteral("maskInspector"));
    setMinimumSize(320, 240);
}

void MaskInspectorWidget::setFrame(std::shared_ptr<const InspectorFrame> frame) {
    frame_ = std::move(frame);
    message_.clear();
    if (frame_) viewport_.setContent(frame_->inspection->cols(), frame_->inspection->rows());
    textureDirty_ = true;
    requestFrames();
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

void MaskInspectorWidget::setTileLimit(int side) {
    tileLimit_ = std::max(0, side);
    textureDirty_ = true;
    requestFrames();
}

void MaskInspectorWidget::initializeResources() {
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &maxTextureSize_);
    textures_.clear();
    textureDirty_ = true;
}

void MaskInspectorWidget::releaseResources() {
    if (!textures_.empty()) glDeleteTextures(static_cast<int>(textures_.size()), textures_.data());
    textures_.clear();
    tiles_.clear();
}

void MaskInspectorWidget::uploadTexture() {
    if (!textureDirty_ || !glReady()) return;
    textureDirty_ = false;
    textureError_.clear();
    releaseResources();
    if (!frame_) return;
    const int64_t w = frame_->inspection->cols(), h = frame_->inspection->rows();
    const int side = tileLimit_ > 0 ? std::min(tileLimit_, maxTextureSize_) : maxTextureSize_;
    if (side < 1) {
        textureError_ = tr("this OpenGL context reports no usable texture size");
        return;
    }
    tiles_ = tileMask(w, h, side);
    textures_.assign(tiles_.size(), 0);
    if (!tiles_.empty()) glGenTextures(static_cast<int>(textures_.size()), textures_.data());
    // Each tile is read straight out of the whole picture: the row length and the skips select it.
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, static_cast<int>(w));
    for (size_t i = 0; i < tiles_.size(); ++i) {
        const MaskTile& t = tiles_[i];
        glBindTexture(GL_TEXTURE_2D, textures_[i]);
        glPixelStorei(GL_UNPACK_SKIP_PIXELS, static_cast<int>(t.col0));
        glPixelStorei(GL_UNPACK_SKIP_ROWS, static_cast<int>(t.row0));
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, static_cast<int>(t.cols), static_cast<int>(t.rows), 0, GL_RGBA,
                     GL_UNSIGNED_BYTE, frame_->rgba.data());
        // Zoomed out, mipmaps average the entries a screen pixel covers (density stays visible);
        // zoomed in, every entry is a crisp square. The nearest mip level, not a blend of two:
        // trilinear sampling cost software OpenGL about a quarter of each frame's CPU time.
        glGenerateMipmap(GL_TEXTURE_2D);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR_MIPMAP_NEAREST);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    }
    // Back to the defaults the ImGui backend's own uploads expect.
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
    glBindTexture(GL_TEXTURE_2D, 0);
}

void MaskInspectorWidget::drawUi() {
    const ImGuiIO& io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(io.DisplaySize);
    ImGui::Begin("##inspector", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse);
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
    const float spacing = ImGui::GetStyle().ItemSpacing.x;
    const float barsWidth = std::clamp(avail.x * 0.18f, 60.0f, 160.0f);
    const float height = std::max(40.0f, avail.y);
    drawMask(std::max(40.0f, avail.x - barsWidth - spacing), height);
    ImGui::SameLine();
    drawFanInBars(barsWidth, height);
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
    ImGui::Text("  %lld neurons x %lld inputs", static_cast<long long>(m.rows()), static_cast<long long>(m.cols()));
    ImGui::SameLine();
    if (ImGui::SmallButton("Fit")) viewport_.fit();
    if (!message_.isEmpty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.4f, 1.0f), "%s", qPrintable(message_));
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

    const long long active = static_cast<long long>(m.rows() - static_cast<int64_t>(m.mask().ablated.size()));
    if (m.k() > 0) {
        ImGui::Text("k = %lld, %lld active neurons:", static_cast<long long>(m.k()), active);
        ImGui::SameLine();
        if (m.offenders().empty()) {
            ImGui::TextColored(ImVec4(0.45f, 0.85f, 0.5f, 1.0f), "every active neuron has exactly k connections");
        } else {
            std::string ids;
            for (size_t i = 0; i < m.offenders().size() && i < 8; ++i) ids += (i ? ", " : "") + std::to_string(m.offenders()[i]);
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

void MaskInspectorWidget::drawMask(float width, float height) {
    const ImGuiIO& io = ImGui::GetIO();
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
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
    dl->AddRectFilled(p0, p1, IM_COL32(8, 8, 10, 255));
    const float z = static_cast<float>(viewport_.zoom());
    const ImVec2 a(p0.x + static_cast<float>(viewport_.origin().x()), p0.y + static_cast<float>(viewport_.origin().y()));
    const ImVec2 b(a.x + z * static_cast<float>(viewport_.cols()), a.y + z * static_cast<float>(viewport_.rows()));
    for (size_t i = 0; i < textures_.size() && textureError_.isEmpty(); ++i) {
        const MaskTile& t = tiles_[i];
        const QRectF r = viewport_.screenRect(t.col0, t.row0, t.cols, t.rows);
        if (!r.intersects(QRectF(0, 0, width, height))) continue; // off screen
        const ImVec2 t0(p0.x + static_cast<float>(r.left()), p0.y + static_cast<float>(r.top()));
        const ImVec2 t1(p0.x + static_cast<float>(r.right()), p0.y + static_cast<float>(r.bottom()));
        dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(textures_[i])), t0, t1);
    }
    dl->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), IM_COL32(90, 90, 100, 255));
    // Neurons whose fan-in differs from k: a red tick left of their row, visible at any zoom.
    for (int64_t r : frame_->inspection->offenders()) {
        const float y = p0.y + static_cast<float>(viewport_.rowTop(r));
        dl->AddRectFilled(ImVec2(a.x - 6, y), ImVec2(a.x - 2, y + std::max(1.0f, z)), kDiffersColour);
    }
    std::optional<MaskEntry> entry;
    if (hovered && !ImGui::IsItemActive()) entry = viewport_.hit(mouse);
    if (entry && z >= 4.0f) {
        const ImVec2 e0(a.x + z * static_cast<float>(entry->col), a.y + z * static_cast<float>(entry->row));
        dl->AddRect(e0, ImVec2(e0.x + z, e0.y + z), IM_COL32(255, 220, 60, 255));
    }
    dl->PopClipRect();
    if (entry) drawTooltip(*entry);
    // Right-click: the neuron of the entry under the cursor opens in the structure dock.
    if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right))
        if (auto at = viewport_.hit(mouse)) requestNeuron(at->row);
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
        // A click on a neuron's bar opens it in the structure dock.
        const int64_t row = viewport_.rowAt(ImGui::GetIO().MousePos.y - q0.y);
        if (row >= 0 && row < frame_->inspection->rows()) requestNeuron(row);
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 q1(q0.x + width, q0.y + height);
    dl->PushClipRect(q0, q1, true);
    dl->AddRectFilled(q0, q1, IM_COL32(20, 20, 24, 255));
    const double scale = static_cast<double>(width - 4) / static_cast<double>(std::max<int64_t>({m.maxFanIn(), m.k(), 1}));
    const int64_t rows = m.rows();
    const double z = viewport_.zoom();
    auto bar = [&](float y0, float y1, int64_t fanIn, bool differs, bool ablated) {
        if (ablated) dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q1.x, y1), rgb(kPalette.ablatedRow));
        const float len = static_cast<float>(static_cast<double>(fanIn) * scale);
        if (len > 0) dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q0.x + len, y1), differs ? kDiffersColour : kBarColour);
        else if (differs) dl->AddRectFilled(ImVec2(q0.x, y0), ImVec2(q0.x + 3, y1), kDiffersColour);
    };
    if (z >= 1.0) {
        const int64_t first = std::max<int64_t>(0, viewport_.rowAt(0)), last = std::min(rows - 1, viewport_.rowAt(height));
        const float gap = z >= 4.0 ? 1.0f : 0.0f;
        for (int64_t r = first; r <= last; ++r) {
            const float y0 = q0.y + static_cast<float>(viewport_.rowTop(r));
            bar(y0, y0 + static_cast<float>(z) - gap, m.fanIn(r), m.differs(r), m.ablated(r));
        }
    } else {
        // Several neurons per screen row: show the largest fan-in, red if any differs from k.
        for (int y = 0; y < static_cast<int>(height); ++y) {
            const int64_t r0 = std::max<int64_t>(0, viewport_.rowAt(y));
            const int64_t r1 = std::min(rows, viewport_.rowAt(y + 1) + 1);
            if (r0 >= r1) continue;
            int64_t most = 0;
            bool differs = false, allAblated = true;
            for (int64_t r = r0; r < r1; ++r) {
                most = std::max(most, m.fanIn(r));
                differs = differs || m.differs(r);
                allAblated = allAblated && m.ablated(r);
            }
            bar(q0.y + static_cast<float>(y), q0.y + static_cast<float>(y + 1), most, differs, allAblated);
        }
    }
    if (m.k() > 0) {
        const float x = q0.x + static_cast<float>(static_cast<double>(m.k()) * scale);
        dl->AddLine(ImVec2(x, q0.y), ImVec2(x, q1.y), kKLineColour);
    }
    dl->PopClipRect();
    if (hovered) {
        const int64_t r = viewport_.rowAt(ImGui::GetIO().MousePos.y - q0.y);
        if (r >= 0 && r < rows) {
            ImGui::BeginTooltip();
            ImGui::Text("neuron %lld: fan-in %lld", static_cast<long long>(r), static_cast<long long>(m.fanIn(r)));
            if (m.k() > 0) ImGui::Text("k = %lld", static_cast<long long>(m.k()));
            if (m.ablated(r)) ImGui::TextUnformatted("ablated");
            if (m.differs(r)) ImGui::TextColored(ImVec4(0.95f, 0.3f, 0.25f, 1.0f), "differs from what it must be");
            ImGui::EndTooltip();
        }
    }
}

void MaskInspectorWidget::drawTooltip(const MaskEntry& e) {
    const MaskInspection& m = *frame_->inspection;
    ImGui::BeginTooltip();
    ImGui::Text("neuron %lld, input %lld", static_cast<long long>(e.row), static_cast<long long>(e.col));
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

} // namespace srigl::studio
