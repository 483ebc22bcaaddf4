// The analysis docks of the main window - compare dashboard, layer statistics and timing panel -
// with their menus (Analysis, Export) and their wiring to the run browser's selection and the live
// session. Kept out of main_window.cpp so the window only creates it and adds its menus.
#pragma once

#include <QList>
#include <QObject>
#include <QString>

class QDockWidget;
class QMainWindow;
class QMenuBar;

namespace srigl::studio {

class CompareDashboard;
class InitVariancePanel;
class LayerStatsPanel;
class RunBrowserPanel;
class SessionController;
class StoreReader;
class TimingPanel;

class DashboardDocks : public QObject {
    Q_OBJECT
public:
    // Adds the docks to the window, tabbed behind `tabWith` (the live session dock); they read the
    // store through `store`.
    DashboardDocks(QMainWindow* window, QDockWidget* tabWith, RunBrowserPanel* browser, SessionController& controller,
                   StoreReader& store, const QString& dbPath);

    // The Analysis and Export menus, inserted before the last menu (Help).
    void addMenus(QMenuBar* bar);

    CompareDashboard* compare() const { return compare_; }
    LayerStatsPanel* layerStats() const { return layerStats_; }
    TimingPanel* timing() const { return timing_; }
    InitVariancePanel* initVariance() const { return initVariance_; }
    QList<QDockWidget*> docks() const { return {compareDock_, statsDock_, timingDock_, initVarianceDock_}; }
    // Run ids selected in the run browser, in table order.
    QList<qint64> browserSelection() const;

private:
    void openDatabase(const QString& path);
    void exportPanelPng(QDockWidget* dock);
    void exportMetricsCsv();
    void exportMaskEvolution();
    void exportMaskEvolutionOf(qint64 runId, const QStringList& layers);

    QMainWindow* window_;
    RunBrowserPanel* browser_;
    SessionController& controller_;
    StoreReader& store_;
    QString dbPath_;
    CompareDashboard* compare_ = nullptr;
    LayerStatsPanel* layerStats_ = nullptr;
    TimingPanel* timing_ = nullptr;
    InitVariancePanel* initVariance_ = nullptr;
    QDockWidget* compareDock_ = nullptr;
    QDockWidget* statsDock_ = nullptr;
    QDockWidget* timingDock_ = nullptr;
    QDockWidget* initVarianceDock_ = nullptr;
};

} // namespace srigl::studio
