//! Everything the user sees goes through here: data on stdout (text or one JSON document),
//! notes and errors on stderr, so pipes get clean data and people get the commentary.

use std::io::{self, Write};

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};

pub struct Ui {
    pub format: OutputFormat,
    quiet: bool,
    pub(crate) color: bool,
}

impl Ui {
    pub fn new(g: &GlobalArgs) -> Ui {
        use std::io::IsTerminal;
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ui {
            format: g.output,
            quiet: g.quiet,
            color,
        }
    }

    /// The command's result on stdout.
    pub fn data(&self, text: &str) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    pub fn json(&self, value: &impl serde::Serialize) {
        self.data(&serde_json::to_string_pretty(value).expect("output serialises"));
    }

    /// Commentary on stderr, silenced by --quiet.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint("warning:", "33"));
        }
    }

    /// Errors are printed even with --quiet.
    pub fn error(&self, text: &str) {
        eprintln!("{} {text}", self.paint("error:", "31"));
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Progress of a running release on stderr: on a terminal one live line per kernel (its
/// step, build phase or upload bar) under the scrolling log, plain timestamped lines
/// otherwise (CI logs), nothing with --quiet.
pub struct UiReporter {
    mode: Mode,
    color: bool,
    multi: indicatif::MultiProgress,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
    last_percent: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Bars,
}

fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

impl UiReporter {
    pub fn new(g: &GlobalArgs, ui: &Ui) -> UiReporter {
        use std::io::IsTerminal;
        let mode = if g.quiet {
            Mode::Quiet
        } else if !g.no_progress && io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Plain
        };
        UiReporter {
            mode,
            color: ui.color,
            multi: indicatif::MultiProgress::new(),
            bars: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            last_percent: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    fn line(&self, text: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!("[{}] {text}", clock()),
            Mode::Bars => {
                if self.multi.println(text).is_err() {
                    eprintln!("{text}");
                }
            }
        }
    }

    /// The live line of one kernel (release-wide messages have the kernel "").
    fn with_bar(&self, kernel: &str, f: impl FnOnce(&indicatif::ProgressBar)) {
        if self.mode != Mode::Bars {
            return;
        }
        let mut bars = self.bars.lock().expect("reporter lock");
        // The release-wide line (the preflight) is done once kernels report their own steps.
        if !kernel.is_empty() {
            if let Some(b) = bars.remove("") {
                b.finish_and_clear();
            }
        }
        let bar = bars.entry(kernel.to_string()).or_insert_with(|| {
            let b = self.multi.add(indicatif::ProgressBar::new_spinner());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        f(bar);
    }

    fn spinner(&self, kernel: &str, message: String) {
        self.with_bar(kernel, |b| {
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("valid template"),
            );
            b.set_length(0);
            b.set_message(message);
        });
    }

    /// Clears the progress lines at the end of a run.
    pub fn finish(&self) {
        let mut bars = self.bars.lock().expect("reporter lock");
        for (_, b) in std::mem::take(&mut *bars) {
            b.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

impl crate::pipeline::Reporter for UiReporter {
    fn step(&self, kernel: &str, step: crate::plan::StepId, message: &str) {
        let who = if kernel.is_empty() {
            String::new()
        } else {
            format!("{kernel}: ")
        };
        self.line(&format!("{who}{}: {message}", step.as_str()));
        self.spinner(kernel, format!("{who}{}", step.as_str()));
    }

    fn skipped(&self, kernel: &str, step: crate::plan::StepId, why: &str) {
        self.line(&format!("{kernel}: {}: skipped, {why}", step.as_str()));
    }

    fn bytes(&self, kernel: &str, sent: u64, total: u64) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let pct = (sent * 100).checked_div(total).unwrap_or(100);
                let bucket = pct / 25;
                let last = self
                    .last_percent
                    .lock()
                    .expect("reporter lock")
                    .insert(kernel.to_string(), bucket);
                if last != Some(bucket) {
                    eprintln!(
                        "[{}] {kernel}: upload: {sent} of {total} bytes ({pct}%)",
                        clock()
                    );
                }
            }
            Mode::Bars => self.with_bar(kernel, |b| {
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} upload {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("valid template"),
                );
                b.set_message(kernel.to_string());
                b.set_length(total);
                b.set_position(sent);
            }),
        }
    }

    fn phase(&self, kernel: &str, phase: &str) {
        match self.mode {
            Mode::Bars => self.spinner(kernel, format!("{kernel}: build: {phase}")),
            _ => self.line(&format!("{kernel}: build: phase {phase}")),
        }
    }

    fn log_line(&self, kernel: &str, line: &str) {
        if self.mode != Mode::Quiet {
            self.line(&format!("  {kernel} │ {line}"));
        }
    }

    fn warn(&self, message: &str) {
        let tag = if self.color {
            "\x1b[1;33mwarning:\x1b[0m"
        } else {
            "warning:"
        };
        self.line(&format!("{tag} {message}"));
    }
}

/// With `--verbose`, a line on stderr for every AWS call as it is made.
pub fn call_log(g: &GlobalArgs) -> Option<crate::aws::audit::CallLog> {
    g.verbose.then(|| {
        std::sync::Arc::new(|line: &str| eprintln!("[{}] {line}", clock()))
            as crate::aws::audit::CallLog
    })
}
