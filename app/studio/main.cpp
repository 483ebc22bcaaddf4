// srigl-studio: the SRigL Studio desktop app (entry point only; the views live in widgets/).
#include "widgets/shell/demo_mode.hpp"
#include "widgets/shell/main_window.hpp"
#include "widgets/shell/quit_signals.hpp"
#include "widgets/shell/studio_environment.hpp"
#include "widgets/common/theme.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    // Spinning OpenMP workers would take the cores from the UI thread (and from each other), and
    // Mesa's software renderer would wait behind them: see studio_environment.hpp.
    srigl::studio::prepareStudioProcess(argc, argv);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("srigl"));
    QApplication::setApplicationName(QStringLiteral("srigl-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("SRigL Studio"));
    QApplication::setApplicationVersion(QStringLiteral(SRIGL_STUDIO_VERSION));

    QCommandLineParser cli;
    cli.setApplicationDescription(QStringLiteral("Train sparse networks with SRigL and watch their masks."));
    cli.addHelpOption();
    cli.addVersionOption();
    const QCommandLineOption db(QStringLiteral("db"), QStringLiteral("Runs database (default: $SRIGL_DB or "
                                                                      "~/.local/share/srigl-studio/runs.db)."),
                                QStringLiteral("file"));
    const QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Start the default session right away."));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("With --demo: save a PNG of the window after --after-steps "
                                                       "steps, then quit."),
                                        QStringLiteral("file"));
    const QCommandLineOption afterSteps(QStringLiteral("after-steps"),
                                        QStringLiteral("Training steps before the screenshot (default 200)."),
                                        QStringLiteral("n"), QStringLiteral("200"));
    const QCommandLineOption theme(QStringLiteral("theme"), QStringLiteral("dark or light (default: the last used)."),
                                   QStringLiteral("name"));
    cli.addOptions({db, demo, screenshot, afterSteps, theme});
    cli.process(app);

    bool stepsOk = false;
    const int steps = cli.value(afterSteps).toInt(&stepsOk);
    if (!stepsOk || steps < 1) {
        std::fprintf(stderr, "srigl-studio: --after-steps expects a positive integer, got '%s'\n",
                     qPrintable(cli.value(afterSteps)));
        return 2;
    }
    const bool demoMode = cli.isSet(demo) || cli.isSet(screenshot);
    const QString themeName =
        cli.isSet(theme) ? cli.value(theme)
                         : (demoMode ? QStringLiteral("dark") : QSettings().value(QStringLiteral("theme")).toString());
    srigl::studio::applyTheme(srigl::studio::themeFromName(themeName));

    srigl::studio::StudioOptions options;
    options.dbPath = cli.value(db);
    options.restoreLayout = !demoMode;
    srigl::studio::MainWindow window(options);
    window.show();

    // Ctrl-C, kill and a logout stop the work as a quit does, checkpointed (quit_signals.hpp).
    srigl::studio::QuitSignals quitSignals;
    QObject::connect(&quitSignals, &srigl::studio::QuitSignals::received, &window, [&window](int signal) {
        std::fprintf(stderr,
                     "srigl-studio: %s: stopping; a live run gets its final evaluation and checkpoint (a second "
                     "signal quits at once)\n",
                     strsignal(signal));
        window.closeWithoutAsking();
    });

    srigl::studio::DemoMode driver(window, cli.value(screenshot), steps);
    if (demoMode) driver.start();
    return app.exec();
}
