// ImGui frame inside QOpenGLWidget::paintGL; the widget's context is current there, and the
// OpenGL3 backend loads its GL entry points itself (imgui_impl_opengl3_loader).
#include "widgets/imgui_gl_widget.hpp"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QEvent>
#include <QOpenGLContext>

#include <algorithm>

namespace srigl::studio {

ImGuiGlWidget::ImGuiGlWidget(QWidget* parent) : QOpenGLWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true); // hover tooltips need moves without a button down
    frameTimer_.setSingleShot(true);
    frameTimer_.setInterval(16);
    connect(&frameTimer_, &QTimer::timeout, this, [this] { update(); });

    // The context is made here, not in initializeGL, so input can be fed before the first paint.
    ImGuiContext* previous = ImGui::GetCurrentContext();
    context_ = ImGui::CreateContext();
    ImGui::SetCurrentContext(context_);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr; // the dock layout is Qt's (QSettings); nothing to save here
    io.LogFilename = nullptr;
    ImGuiQtBridge::setup(io);
    ImGui::StyleColorsDark();
    ImGui::GetStyle().WindowRounding = 0.0f;
    ImGui::SetCurrentContext(previous);
}

bool ImGuiGlWidget::openGlAvailable() {
    static const bool available = [] {
        QOpenGLContext probe;
        return probe.create();
    }();
    return available;
}

ImGuiGlWidget::~ImGuiGlWidget() {
    shutdown();
    if (context_) ImGui::DestroyContext(context_);
}

void ImGuiGlWidget::shutdown() {
    if (!glReady_) return;
    makeCurrent();
    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGui::SetCurrentContext(context_);
    releaseResources();
    ImGui_ImplOpenGL3_Shutdown();
    ImGui::SetCurrentContext(previous == context_ ? nullptr : previous);
    glReady_ = false;
    doneCurrent();
}

void ImGuiGlWidget::initializeGL() {
    // A widget moved to another top-level window (a dock floated) gets a new context: start over.
    shutdown();
    initializeOpenGLFunctions();
    ImGui::SetCurrentContext(context_);
    // GLSL 1.30 (OpenGL 3.0): what Qt's default compatibility context gives on Mesa and drivers.
    if (!ImGui_ImplOpenGL3_Init("#version 130")) {
        qWarning("ImGui's OpenGL3 backend could not start; the mask inspector stays blank");
        return;
    }
    glReady_ = true;
    connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, &ImGuiGlWidget::shutdown, Qt::UniqueConnection);
    initializeResources();
    requestFrames();
}

void ImGuiGlWidget::requestFrames(int frames) {
    pendingFrames_ = std::max(pendingFrames_, frames);
    if (!frameTimer_.isActive()) frameTimer_.start();
}

void ImGuiGlWidget::resetFrameStats() {
    stats_ = {};
    frameMsSum_ = 0.0;
    sinceLastFrame_.invalidate();
}

void ImGuiGlWidget::paintGL() {
    if (!glReady_) return;
    QElapsedTimer cost;
    cost.start();
    if (sinceLastFrame_.isValid())
        stats_.worstGapMs = std::max(stats_.worstGapMs, static_cast<double>(sinceLastFrame_.nsecsElapsed()) * 1e-6);

    ImGui::SetCurrentContext(context_);
    ImGuiIO& io = ImGui::GetIO();
    bridge_.newFrame(io, size(), devicePixelRatioF());
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    drawUi();
    ImGui::Render();

    glViewport(0, 0, static_cast<int>(width() * devicePixelRatioF()), static_cast<int>(height() * devicePixelRatioF()));
    const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    glClearColor(bg.x, bg.y, bg.z, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

    const Qt::CursorShape shape =
        io.MouseDrawCursor ? Qt::BlankCursor : ImGuiQtBridge::cursorShape(ImGui::GetMouseCursor());
    if (cursor().shape() != shape) setCursor(shape);

    const double ms = static_cast<double>(cost.nsecsElapsed()) * 1e-6;
    ++stats_.frames;
    frameMsSum_ += ms;
    stats_.meanFrameMs = frameMsSum_ / stats_.frames;
    stats_.worstFrameMs = std::max(stats_.worstFrameMs, ms);

    if (pendingFrames_ > 0) --pendingFrames_;
    if (pendingFrames_ > 0 || animating() || io.MouseDown[0] || io.MouseDown[1] || io.MouseDown[2]) {
        sinceLastFrame_.start();
        if (!frameTimer_.isActive()) frameTimer_.start();
    } else {
        sinceLastFrame_.invalidate(); // idle: the gap until the next wanted frame is not a stall
    }
}

bool ImGuiGlWidget::event(QEvent* event) {
    // Qt sends events while the constructor still runs (setMouseTracking), before the context exists.
    if (!context_) return QOpenGLWidget::event(event);
    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGui::SetCurrentContext(context_);
    const bool input = bridge_.handleEvent(event, ImGui::GetIO());
    ImGui::SetCurrentContext(previous);
    if (input) requestFrames(3);
    return QOpenGLWidget::event(event);
}

} // namespace srigl::studio
