// ImGui frames rendered into a framebuffer object of the widget's own context, then painted as an
// image (see the header for why not a QOpenGLWidget). The OpenGL3 backend loads its GL entry
// points itself (imgui_impl_opengl3_loader).
#include "widgets/common/imgui_gl_widget.hpp"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QEvent>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QOpenGLFramebufferObject>
#include <QPainter>
#include <QResizeEvent>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace srigl::studio {

namespace {

double threadCpuMs() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

} // namespace

ImGuiGlWidget::ImGuiGlWidget(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true); // hover tooltips need moves without a button down
    setAttribute(Qt::WA_OpaquePaintEvent); // every pixel comes from the picture
    frameTimer_.setSingleShot(true);
    frameTimer_.setTimerType(Qt::PreciseTimer); // coarse timers may fire 5 % late: 16 ms is already tight
    connect(&frameTimer_, &QTimer::timeout, this, [this] {
        stale_ = true;
        update();
    });

    // The context is made here, not with the GL context, so input can be fed before the first paint.
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
        if (!probe.create()) return false;
        QOffscreenSurface surface;
        surface.setFormat(probe.format());
        surface.create();
        return surface.isValid() && probe.makeCurrent(&surface);
    }();
    return available;
}

ImGuiGlWidget::~ImGuiGlWidget() {
    shutdown();
    if (context_) ImGui::DestroyContext(context_);
}

void ImGuiGlWidget::shutdown() {
    if (!gl_) return;
    if (gl_->makeCurrent(surface_.get())) {
        ImGuiContext* previous = ImGui::GetCurrentContext();
        ImGui::SetCurrentContext(context_);
        if (glReady_) {
            releaseResources();
            ImGui_ImplOpenGL3_Shutdown();
        }
        ImGui::SetCurrentContext(previous == context_ ? nullptr : previous);
        fbo_.reset(); // deletes its GL objects: needs the context current
        gl_->doneCurrent();
    }
    glReady_ = false;
    fbo_.reset();
    gl_.reset();
    surface_.reset();
}

bool ImGuiGlWidget::ensureGl() {
    if (glReady_) return gl_->makeCurrent(surface_.get());
    if (glFailed_) return false;
    glFailed_ = true; // until everything below worked
    gl_ = std::make_unique<QOpenGLContext>();
    if (!gl_->create()) {
        qWarning("no OpenGL context for the ImGui panel; it stays blank");
        return false;
    }
    surface_ = std::make_unique<QOffscreenSurface>();
    surface_->setFormat(gl_->format());
    surface_->create();
    if (!surface_->isValid() || !gl_->makeCurrent(surface_.get())) {
        qWarning("the ImGui panel's OpenGL context cannot be made current; it stays blank");
        return false;
    }
    initializeOpenGLFunctions();
    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGui::SetCurrentContext(context_);
    // GLSL 1.30 (OpenGL 3.0): what Qt's default compatibility context gives on Mesa and drivers.
    const bool ok = ImGui_ImplOpenGL3_Init("#version 130");
    ImGui::SetCurrentContext(previous);
    if (!ok) {
        qWarning("ImGui's OpenGL3 backend could not start; the mask inspector stays blank");
        return false;
    }
    glFailed_ = false;
    glReady_ = true;
    initializeResources();
    return true;
}

void ImGuiGlWidget::requestFrames(int frames) {
    pendingFrames_ = std::max(pendingFrames_, frames);
    if (frameTimer_.isActive()) return;
    // Paced at 60 Hz from the last frame's start: after a pause (a new live mask while the mouse
    // rests) the frame is drawn at once, not a period later.
    const qint64 since = lastFrameStart_.isValid() ? lastFrameStart_.elapsed() : 16;
    frameTimer_.start(static_cast<int>(std::max<qint64>(0, 16 - since)));
}

void ImGuiGlWidget::requestFramesNow(int frames) {
    pendingFrames_ = std::max(pendingFrames_, frames);
    frameTimer_.start(0);
}

void ImGuiGlWidget::resetFrameStats() {
    stats_ = {};
    frameMsSum_ = 0.0;
    cpuMsSum_ = 0.0;
    sinceLastFrame_.invalidate();
}

void ImGuiGlWidget::resizeEvent(QResizeEvent* event) {
    stale_ = true;
    QWidget::resizeEvent(event);
}

void ImGuiGlWidget::paintEvent(QPaintEvent*) {
    // Exposes and grabs repaint the last picture; only a wanted frame renders a new one.
    if (stale_ || image_.isNull()) renderFrame();
    QPainter painter(this);
    if (image_.isNull()) painter.fillRect(rect(), palette().window());
    else painter.drawImage(rect(), image_);
}

void ImGuiGlWidget::renderFrame() {
    stale_ = false;
    if (!ensureGl()) return;
    QElapsedTimer cost;
    cost.start();
    lastFrameStart_.start();
    const double cpuStart = threadCpuMs();
    if (sinceLastFrame_.isValid())
        stats_.worstGapMs = std::max(stats_.worstGapMs, static_cast<double>(sinceLastFrame_.nsecsElapsed()) * 1e-6);

    const qreal dpr = devicePixelRatioF();
    const QSize pixels(std::max(1, static_cast<int>(std::lround(width() * dpr))),
                       std::max(1, static_cast<int>(std::lround(height() * dpr))));
    if (!fbo_ || fbo_->size() != pixels) {
        fbo_.reset(); // the context is current: its GL objects go now
        fbo_ = std::make_unique<QOpenGLFramebufferObject>(pixels, QOpenGLFramebufferObject::NoAttachment);
    }
    fbo_->bind();

    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGui::SetCurrentContext(context_);
    ImGuiIO& io = ImGui::GetIO();
    bridge_.newFrame(io, size(), dpr);
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    drawUi();
    ImGui::Render();

    glViewport(0, 0, pixels.width(), pixels.height());
    const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    glClearColor(bg.x, bg.y, bg.z, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    // The read back waits for the (software or GPU) renderer to finish this frame. BGRA bytes are
    // QImage's RGB32 on little-endian machines, the backing store's own format, so painting it is
    // a plain copy; mirrored() turns OpenGL's bottom-up rows into top-down ones.
    QImage readBack(pixels, QImage::Format_RGB32);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    glReadPixels(0, 0, pixels.width(), pixels.height(), QSysInfo::ByteOrder == QSysInfo::LittleEndian ? GL_BGRA : GL_RGBA,
                 GL_UNSIGNED_BYTE, readBack.bits());
    if (QSysInfo::ByteOrder != QSysInfo::LittleEndian) readBack = readBack.convertToFormat(QImage::Format_RGBX8888);
    image_ = readBack.mirrored();
    image_.setDevicePixelRatio(dpr);
    fbo_->release();

    const Qt::CursorShape shape =
        io.MouseDrawCursor ? Qt::BlankCursor : ImGuiQtBridge::cursorShape(ImGui::GetMouseCursor());
    if (cursor().shape() != shape) setCursor(shape);
    const bool mouseDown = io.MouseDown[0] || io.MouseDown[1] || io.MouseDown[2];
    ImGui::SetCurrentContext(previous);

    const double ms = static_cast<double>(cost.nsecsElapsed()) * 1e-6;
    ++stats_.frames;
    frameMsSum_ += ms;
    stats_.meanFrameMs = frameMsSum_ / stats_.frames;
    cpuMsSum_ += threadCpuMs() - cpuStart;
    stats_.meanCpuMs = cpuMsSum_ / stats_.frames;
    stats_.worstFrameMs = std::max(stats_.worstFrameMs, ms);

    if (pendingFrames_ > 0) --pendingFrames_;
    if (pendingFrames_ > 0 || animating() || mouseDown) {
        sinceLastFrame_.start();
        // 16 ms from this frame's start, not its end: a frame that took 20 ms is followed at once.
        if (!frameTimer_.isActive()) frameTimer_.start(std::max(0, 16 - static_cast<int>(cost.elapsed())));
    } else {
        sinceLastFrame_.invalidate(); // idle: the gap until the next wanted frame is not a stall
    }
}

bool ImGuiGlWidget::event(QEvent* event) {
    // Qt sends events while the constructor still runs (setMouseTracking), before the context exists.
    if (!context_) return QWidget::event(event);
    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGui::SetCurrentContext(context_);
    const bool input = bridge_.handleEvent(event, ImGui::GetIO());
    ImGui::SetCurrentContext(previous);
    if (input) requestFrames(3);
    return QWidget::event(event);
}

} // namespace srigl::studio
