// Builds the editors from configKeys() so a key added to the engine shows up here without edits.
#include "widgets/launch/config_form.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QStyle>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace srigl::studio {
namespace {

// Topic of each key; keys the engine adds later land in "Other" until they get a topic.
QString groupOf(const QString& key) {
    static const QHash<QString, QString> groups = [] {
        QHash<QString, QString> g;
        for (auto k : {"name", "model", "model_path", "sparse_layers", "hidden", "dataset", "data_dir", "synthetic_train",
                       "synthetic_test"})
            g.insert(k, QStringLiteral("Model and data"));
        for (auto k : {"method", "sparsity", "distribution", "dense_first", "dense_last", "gamma_sal", "delta_t",
                       "alpha", "t_end", "grad_accumulation"})
            g.insert(k, QStringLiteral("Sparsity"));
        for (auto k : {"epochs", "max_steps", "batch_size", "optimizer", "lr", "lr_schedule", "lr_milestones",
                       "lr_gamma", "warmup_epochs", "weight_decay", "momentum", "nesterov", "beta1", "beta2",
                       "adam_eps", "label_smoothing"})
            g.insert(k, QStringLiteral("Optimisation"));
        for (auto k : {"seed", "device", "threads", "log_every", "eval_every", "checkpoint", "checkpoint_every",
                       "dense_reference_steps"})
            g.insert(k, QStringLiteral("Runtime"));
        return g;
    }();
    return groups.value(key, QStringLiteral("Other"));
}

constexpr int kValidationPauseMs = 150; // typing a number should not flash an error per keystroke

} // namespace

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    QHash<QString, QFormLayout*> forms;
    const QStringList order = {QStringLiteral("Model and data"), QStringLiteral("Sparsity"),
                               QStringLiteral("Optimisation"), QStringLiteral("Runtime"), QStringLiteral("Other")};
    for (const auto& title : order) {
        auto* box = new QGroupBox(title, this);
        auto* form = new QFormLayout(box);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        forms.insert(title, form);
        layout->addWidget(box);
    }

    for (const auto& key : configKeys()) {
        const QString name = QString::fromStdString(key.name);
        const QString tip = QStringLiteral("%1 (%2, default %3)")
                                .arg(QString::fromStdString(key.help), QString::fromStdString(key.type),
                                     QString::fromStdString(key.defaultValue));
        QWidget* editor = nullptr;
        QWidget* field = nullptr;
        if (!key.choices.empty()) {
            auto* combo = new QComboBox(this);
            for (const auto& choice : key.choices) combo->addItem(QString::fromStdString(choice));
            connect(combo, &QComboBox::currentTextChanged, this, &ConfigForm::scheduleValidation);
            editor = combo;
        } else if (key.type == "bool") {
            auto* box = new QCheckBox(this);
            connect(box, &QCheckBox::toggled, this, &ConfigForm::scheduleValidation);
            editor = box;
        } else {
            // Free text even for numbers: a typo must reach the engine, whose message names the key.
            auto* line = new QLineEdit(this);
            line->setObjectName(name);
            line->setPlaceholderText(QString::fromStdString(key.defaultValue));
            connect(line, &QLineEdit::textEdited, this, &ConfigForm::scheduleValidation);
            editor = line;
            if (key.name == "data_dir") {
                field = withBrowseButton(line, QStringLiteral("…"), tr("Choose the directory with the dataset's files"), [this, line] {
                    return QFileDialog::getExistingDirectory(this, tr("Dataset directory"), line->text());
                });
            } else if (key.name == "model_path") {
                // "Model: from file...": a module torch.jit.save wrote; choosing one selects model torchscript,
                // and the plan below lists the layers found in it and their sparsities.
                field = withBrowseButton(line, tr("From file…"), tr("Model from file: a TorchScript module (scripts/export_torchscript.py)"), [this, line] {
                    const QString file = QFileDialog::getOpenFileName(this, tr("Model from file"), line->text(),
                                                                      tr("TorchScript modules (*.pt *.pth *.ptc);;All files (*)"));
                    if (!file.isEmpty()) setValue(QStringLiteral("model"), QStringLiteral("torchscript"));
                    return file;
                });
            }
        }
        editor->setObjectName(name);
        editor->setToolTip(tip);
        auto* label = new QLabel(name, this);
        label->setToolTip(tip);
        forms.value(groupOf(name))->addRow(label, field ? field : editor);
        editors_.insert(name, editor);
        keys_.append(name);
    }
    // A module file belongs to model torchscript only: another model clears it (and its layer choice).
    if (auto* model = qobject_cast<QComboBox*>(editors_.value(QStringLiteral("model"))))
        connect(model, &QComboBox::currentTextChanged, this, [this](const QString& chosen) {
            if (chosen == QStringLiteral("torchscript") || loading_) return;
            setValue(QStringLiteral("model_path"), QString());
            setValue(QStringLiteral("sparse_layers"), QString());
        });
    // Hidden sizes shape the built-in MLP only: greyed for every other model (the value is kept).
    if (auto* model = qobject_cast<QComboBox*>(editors_.value(QStringLiteral("model")))) {
        auto follow = [this](const QString& chosen) {
            if (QWidget* hidden = editors_.value(QStringLiteral("hidden"))) hidden->setEnabled(chosen == QStringLiteral("mlp"));
        };
        connect(model, &QComboBox::currentTextChanged, this, follow);
        follow(model->currentText());
    }
    // An empty "Other" group is noise.
    for (auto* box : findChildren<QGroupBox*>())
        if (box->title() == QStringLiteral("Other") && forms.value(box->title())->rowCount() == 0) box->hide();

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("validationMessage"));
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    plan_ = new QLabel(this);
    plan_->setObjectName(QStringLiteral("layerPlan"));
    plan_->setFont(QFont(QStringLiteral("monospace")));
    plan_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(status_);
    layout->addWidget(plan_);
    layout->addStretch(1);

    pause_ = new QTimer(this);
    pause_->setSingleShot(true);
    pause_->setInterval(kValidationPauseMs);
    connect(pause_, &QTimer::timeout, this, &ConfigForm::validateNow);

    setConfig(RunConfig{});
}

QWidget* ConfigForm::withBrowseButton(QLineEdit* line, const QString& text, const QString& tip, std::function<QString()> choose) {
    auto* row = new QWidget(this);
    auto* h = new QHBoxLayout(row);
    h->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QToolButton(row);
    browse->setText(text);
    browse->setToolTip(tip);
    browse->setObjectName(line->objectName() + QStringLiteral("Browse"));
    h->addWidget(line);
    h->addWidget(browse);
    connect(browse, &QToolButton::clicked, this, [this, line, choose = std::move(choose)] {
        const QString chosen = choose();
        if (chosen.isEmpty()) return;
        line->setText(chosen);
        scheduleValidation();
    });
    return row;
}

void ConfigForm::setConfig(const RunConfig& config) {
    loading_ = true;
    for (const auto& key : keys_) setValue(key, QString::fromStdString(configValue(config, key.toStdString())));
    loading_ = false;
    validateNow();
}

void ConfigForm::setValue(const QString& key, const QString& text) {
    QWidget* w = editors_.value(key);
    if (auto* combo = qobject_cast<QComboBox*>(w)) {
        // A value outside the choices (from a JSON file) stays visible, so the engine can name it.
        if (combo->findText(text) < 0) combo->addItem(text);
        combo->setCurrentText(text);
    } else if (auto* box = qobject_cast<QCheckBox*>(w)) {
        box->setChecked(text == QStringLiteral("true"));
    } else if (auto* line = qobject_cast<QLineEdit*>(w)) {
        line->setText(text);
    }
    if (!loading_) scheduleValidation();
}

QString ConfigForm::value(const QString& key) const {
    QWidget* w = editors_.value(key);
    if (auto* combo = qobject_cast<QComboBox*>(w)) return combo->currentText();
    if (auto* box = qobject_cast<QCheckBox*>(w)) return box->isChecked() ? QStringLiteral("true") : QStringLiteral("false");
    if (auto* line = qobject_cast<QLineEdit*>(w)) return line->text();
    return {};
}

void ConfigForm::scheduleValidation() {
    if (!loading_) pause_->start();
}

void ConfigForm::validateNow() {
    pause_->stop();
    std::vector<std::pair<std::string, std::string>> values;
    for (const auto& key : keys_) values.emplace_back(key.toStdString(), value(key).toStdString());
    check_ = checkConfigValues(values);
    showCheck();
    Q_EMIT validated(check_.ok, QString::fromStdString(check_.message));
}

void ConfigForm::showCheck() {
    // The invalid editor gets a dynamic property the theme's style sheet draws in red.
    auto mark = [this](const QString& key, bool bad) {
        if (QWidget* w = editors_.value(key)) {
            w->setProperty("invalid", bad);
            w->style()->unpolish(w);
            w->style()->polish(w);
        }
    };
    if (!blamed_.isEmpty()) mark(blamed_, false);
    blamed_ = QString::fromStdString(check_.key);
    if (!blamed_.isEmpty()) mark(blamed_, true);

    if (check_.ok) {
        status_->setText(tr("✓ valid: %n sparse layer(s)", nullptr, static_cast<int>(check_.plan.size())));
        status_->setStyleSheet(QStringLiteral("color: #3a9a4a;"));
        plan_->setText(QString::fromStdString(describePlan(check_.plan, check_.config) + "\n" + describeMemory(check_)));
    } else {
        status_->setText(QString::fromStdString(check_.message));
        status_->setStyleSheet(QStringLiteral("color: #d9453b; font-weight: bold;"));
        plan_->clear();
    }
}

} // namespace srigl::studio
