// The Qt -> Dear ImGui input bridge without any GL context: Qt events land in the right ImGuiIO
// fields (mouse, wheel, keys, modifiers, text, focus), display size and scale follow the widget,
// ImGui's cursor comes back as a Qt cursor, and a click fed through the bridge presses an ImGui
// button in real frames (NewFrame/Render on a CPU-only font atlas).
#include "widgets/common/imgui_qt_bridge.hpp"

#include <imgui.h>

#include <QFocusEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QtTest>

#include <cfloat>

using namespace srigl::studio;

class TestImGuiBridge : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();
    void mousePositionAndButtons();
    void wheelNotchesAreImGuiUnits();
    void keysGoToTheKeyMap();
    void textArrivesAsCharactersButNotShortcuts();
    void focusAndLeave();
    void unrelatedEventsAreNotInput();
    void displaySizeScaleAndDeltaTime();
    void cursorShapes();
    void clickPressesAnImGuiButton();

private:
    ImGuiIO& io() { return ImGui::GetIO(); }
    bool feed(QEvent&& e) { return bridge_.handleEvent(&e, io()); }

    ImGuiContext* context_ = nullptr;
    ImGuiQtBridge bridge_;
};

void TestImGuiBridge::init() {
    context_ = ImGui::CreateContext();
    ImGui::SetCurrentContext(context_);
    io().IniFilename = nullptr;
    ImGuiQtBridge::setup(io());
    bridge_ = ImGuiQtBridge();
}

void TestImGuiBridge::cleanup() {
    ImGui::DestroyContext(context_);
    context_ = nullptr;
}

void TestImGuiBridge::mousePositionAndButtons() {
    QVERIFY(feed(QMouseEvent(QEvent::MouseMove, QPointF(12.5, 40), QPointF(12.5, 40), Qt::NoButton, Qt::NoButton, Qt::NoModifier)));
    QCOMPARE(io().MousePos.x, 12.5f);
    QCOMPARE(io().MousePos.y, 40.0f);
    QVERIFY(feed(QMouseEvent(QEvent::MouseButtonPress, QPointF(3, 4), QPointF(3, 4), Qt::LeftButton, Qt::LeftButton, Qt::ShiftModifier)));
    QVERIFY(io().MouseDown[0]);
    QVERIFY(!io().MouseDown[1]);
    QVERIFY(io().KeyShift);
    QCOMPARE(io().MousePos.x, 3.0f); // a press also moves the pointer
    feed(QMouseEvent(QEvent::MouseButtonPress, QPointF(3, 4), QPointF(3, 4), Qt::RightButton, Qt::LeftButton | Qt::RightButton, Qt::NoModifier));
    feed(QMouseEvent(QEvent::MouseButtonPress, QPointF(3, 4), QPointF(3, 4), Qt::MiddleButton, Qt::MiddleButton, Qt::NoModifier));
    QVERIFY(io().MouseDown[1]);
    QVERIFY(io().MouseDown[2]);
    feed(QMouseEvent(QEvent::MouseButtonRelease, QPointF(3, 4), QPointF(3, 4), Qt::LeftButton, Qt::RightButton, Qt::NoModifier));
    QVERIFY(!io().MouseDown[0]);
    QVERIFY(io().MouseDown[1]); // only the released button goes up
    QVERIFY(!io().KeyShift);
    // A double click is a press for ImGui (it detects double clicks itself).
    feed(QMouseEvent(QEvent::MouseButtonDblClick, QPointF(3, 4), QPointF(3, 4), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier));
    QVERIFY(io().MouseDown[0]);
}

void TestImGuiBridge::wheelNotchesAreImGuiUnits() {
    QVERIFY(feed(QWheelEvent(QPointF(7, 8), QPointF(7, 8), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::ControlModifier,
                             Qt::NoScrollPhase, false)));
    QCOMPARE(io().MouseWheel, 1.0f);
    QVERIFY(io().KeyCtrl);
    QCOMPARE(io().MousePos.x, 7.0f);
    // Events between two frames add up; a touchpad's fraction stays a fraction.
    feed(QWheelEvent(QPointF(7, 8), QPointF(7, 8), QPoint(), QPoint(60, -60), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false));
    QCOMPARE(io().MouseWheel, 0.5f);
    QCOMPARE(io().MouseWheelH, 0.5f);
}

void TestImGuiBridge::keysGoToTheKeyMap() {
    for (int key : {ImGuiKey_LeftArrow, ImGuiKey_Enter, ImGuiKey_Backspace, ImGuiKey_A, ImGuiKey_Z, ImGuiKey_Escape}) {
        const int index = io().KeyMap[key];
        QVERIFY(index >= 0 && index < 512);
    }
    QCOMPARE(io().KeyMap[ImGuiKey_LeftArrow], ImGuiQtBridge::keyIndex(Qt::Key_Left));
    QCOMPARE(io().KeyMap[ImGuiKey_C], ImGuiQtBridge::keyIndex(Qt::Key_C));
    QCOMPARE(ImGuiQtBridge::keyIndex(Qt::Key_F7), -1);
    // Every mapped key has its own index.
    QSet<int> seen;
    for (int key = 0; key < ImGuiKey_COUNT; ++key) seen.insert(io().KeyMap[key]);
    QCOMPARE(seen.size(), int(ImGuiKey_COUNT));

    QVERIFY(feed(QKeyEvent(QEvent::KeyPress, Qt::Key_Left, Qt::NoModifier)));
    QVERIFY(io().KeysDown[io().KeyMap[ImGuiKey_LeftArrow]]);
    QVERIFY(feed(QKeyEvent(QEvent::KeyRelease, Qt::Key_Left, Qt::NoModifier)));
    QVERIFY(!io().KeysDown[io().KeyMap[ImGuiKey_LeftArrow]]);
    // As the platform sends them: a modifier key's own press carries the state before it, and
    // QKeyEvent::modifiers() adds the key itself.
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_Control, Qt::NoModifier));
    QVERIFY(io().KeyCtrl);
    feed(QKeyEvent(QEvent::KeyRelease, Qt::Key_Control, Qt::ControlModifier));
    QVERIFY(!io().KeyCtrl);
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_Alt, Qt::MetaModifier));
    QVERIFY(io().KeyAlt);
    QVERIFY(io().KeySuper);
    QVERIFY(!io().KeyCtrl);
}

void TestImGuiBridge::textArrivesAsCharactersButNotShortcuts() {
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_A, Qt::NoModifier, QStringLiteral("a")));
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_unknown, Qt::NoModifier, QStringLiteral("é")));
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_C, Qt::ControlModifier, QStringLiteral("\x03")));
    feed(QKeyEvent(QEvent::KeyPress, Qt::Key_Return, Qt::NoModifier, QStringLiteral("\r")));
    feed(QKeyEvent(QEvent::KeyRelease, Qt::Key_A, Qt::NoModifier, QStringLiteral("a")));
    QCOMPARE(io().InputQueueCharacters.Size, 2);
    QCOMPARE(int(io().InputQueueCharacters[0]), int('a'));
    QCOMPARE(int(io().InputQueueCharacters[1]), 0xE9);
    QVERIFY(io().KeysDown[io().KeyMap[ImGuiKey_C]]); // the shortcut's key is down, its control char not typed
}

void TestImGuiBridge::focusAndLeave() {
    io().MousePos = ImVec2(5, 5);
    QVERIFY(feed(QEvent(QEvent::Leave)));
    QCOMPARE(io().MousePos.x, -FLT_MAX);
    QVERIFY(feed(QFocusEvent(QEvent::FocusOut)));
    // ImGui releases held keys at the next NewFrame after a focus loss, so nothing sticks after Alt+Tab.
    QVERIFY(io().AppFocusLost);
    QVERIFY(feed(QFocusEvent(QEvent::FocusIn)));
    QVERIFY(!io().AppFocusLost);
}

void TestImGuiBridge::unrelatedEventsAreNotInput() {
    QVERIFY(!feed(QEvent(QEvent::Show)));
    QVERIFY(!feed(QEvent(QEvent::UpdateRequest)));
    // A button ImGui has no slot for changes nothing.
    QVERIFY(!feed(QMouseEvent(QEvent::MouseButtonPress, QPointF(1, 1), QPointF(1, 1), Qt::ExtraButton5, Qt::ExtraButton5, Qt::NoModifier)));
    for (bool down : io().MouseDown) QVERIFY(!down);
}

void TestImGuiBridge::displaySizeScaleAndDeltaTime() {
    bridge_.newFrame(io(), QSize(640, 480), 2.0);
    QCOMPARE(io().DisplaySize.x, 640.0f);
    QCOMPARE(io().DisplaySize.y, 480.0f);
    QCOMPARE(io().DisplayFramebufferScale.x, 2.0f);
    QVERIFY(io().DeltaTime > 0.0f);
    QTest::qWait(30);
    bridge_.newFrame(io(), QSize(320, 200), 0.0); // a bogus ratio is taken as 1
    QCOMPARE(io().DisplayFramebufferScale.y, 1.0f);
    QVERIFY(io().DeltaTime >= 0.025f && io().DeltaTime < 5.0f);
    bridge_.newFrame(io(), QSize(320, 200), 1.0);
    QVERIFY(io().DeltaTime > 0.0f); // never zero, even for back-to-back frames (ImGui asserts it)
}

void TestImGuiBridge::cursorShapes() {
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_Arrow), Qt::ArrowCursor);
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_TextInput), Qt::IBeamCursor);
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_ResizeAll), Qt::SizeAllCursor);
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_ResizeEW), Qt::SizeHorCursor);
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_Hand), Qt::PointingHandCursor);
    QCOMPARE(ImGuiQtBridge::cursorShape(ImGuiMouseCursor_None), Qt::BlankCursor);
    QVERIFY(io().BackendFlags & ImGuiBackendFlags_HasMouseCursors);
}

void TestImGuiBridge::clickPressesAnImGuiButton() {
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io().Fonts->GetTexDataAsRGBA32(&pixels, &w, &h); // builds the atlas on the CPU: no GL needed
    int clicks = 0;
    ImVec2 centre;
    auto frame = [&] {
        bridge_.newFrame(io(), QSize(400, 300), 1.0);
        ImGui::NewFrame();
        ImGui::SetNextWindowPos(ImVec2(0, 0));
        ImGui::SetNextWindowSize(ImVec2(400, 300));
        ImGui::Begin("panel", nullptr, ImGuiWindowFlags_NoDecoration);
        if (ImGui::Button("Press me", ImVec2(120, 40))) ++clicks;
        const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        centre = ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2);
        ImGui::End();
        ImGui::Render();
    };
    frame(); // lays the button out
    const QPointF at(centre.x, centre.y);
    feed(QMouseEvent(QEvent::MouseMove, at, at, Qt::NoButton, Qt::NoButton, Qt::NoModifier));
    frame();
    feed(QMouseEvent(QEvent::MouseButtonPress, at, at, Qt::LeftButton, Qt::LeftButton, Qt::NoModifier));
    frame();
    QCOMPARE(clicks, 0); // ImGui buttons fire on release
    feed(QMouseEvent(QEvent::MouseButtonRelease, at, at, Qt::LeftButton, Qt::NoButton, Qt::NoModifier));
    frame();
    QCOMPARE(clicks, 1);
    // A click outside the button does nothing.
    const QPointF away(380, 280);
    feed(QMouseEvent(QEvent::MouseMove, away, away, Qt::NoButton, Qt::NoButton, Qt::NoModifier));
    frame();
    feed(QMouseEvent(QEvent::MouseButtonPress, away, away, Qt::LeftButton, Qt::LeftButton, Qt::NoModifier));
    frame();
    feed(QMouseEvent(QEvent::MouseButtonRelease, away, away, Qt::LeftButton, Qt::NoButton, Qt::NoModifier));
    frame();
    QCOMPARE(clicks, 1);
}

QTEST_MAIN(TestImGuiBridge)
#include "test_imgui_bridge.moc"
