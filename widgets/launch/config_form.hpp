// The launcher's form: one editor per RunConfig key, generated from the engine's key table
// (configKeys()), grouped by topic, validated live with the engine's own messages.
#pragma once

#include "widgets/launch/config_validation.hpp"

#include <QHash>
#include <QString>
#include <QWidget>

#include <functional>

class QLabel;
class QLineEdit;
class QTimer;

namespace srigl::studio {

class ConfigForm : public QWidget {
    Q_OBJECT
public:
    explicit ConfigForm(QWidget* parent = nullptr);

    void setConfig(const RunConfig& config);
    // The form's values on top of the defaults (what a run would use if the check passes).
    RunConfig config() const { return check_.config; }
    const ConfigCheck& check() const { return check_; }
    bool isValid() const { return check_.ok; }

    // The editor of a key (QLineEdit, QComboBox or QCheckBox), for tests and focus.
    QWidget* editor(const QString& key) const { return editors_.value(key); }
    // Sets a key's editor from text as --set takes it; validation follows after a short pause.
    void setValue(const QString& key, const QString& text);
    QString value(const QString& key) const;
    // Checks now instead of after the pause (tests, Start).
    void validateNow();

Q_SIGNALS:
    void validated(bool ok, const QString& message);

private:
    void scheduleValidation();
    // `line` with a button beside it that sets the line to what `choose` returns (unless empty).
    QWidget* withBrowseButton(QLineEdit* line, const QString& text, const QString& tip, std::function<QString()> choose);
    void showCheck();

    QHash<QString, QWidget*> editors_;
    QStringList keys_; // in the engine's order
    QLabel* status_ = nullptr;
    QLabel* plan_ = nullptr;
    QTimer* pause_ = nullptr;
    QString blamed_; // key whose editor is marked
    ConfigCheck check_;
    bool loading_ = false;
};

} // namespace srigl::studio
