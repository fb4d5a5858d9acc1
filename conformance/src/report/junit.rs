//! `junit.xml`: one testcase per scenario, steps as properties, the failure with its diff,
//! warnings as properties and in `system-err`; an interrupted or sharded run says so in
//! the suite's properties.

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::model::{RunReport, Status};

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Renders the run as JUnit XML.
pub fn render(run: &RunReport) -> Result<String, std::io::Error> {
    let t = run.totals();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let io = |e: quick_xml::Error| std::io::Error::other(e.to_string());
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(std::io::Error::other)?;
    let tests = run.scenarios.len().to_string();
    let failures = t.failed.to_string();
    let skipped = t.skipped.to_string();
    let time = secs(run.duration);
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "kanon"));
    suites.push_attribute(("tests", tests.as_str()));
    suites.push_attribute(("failures", failures.as_str()));
    suites.push_attribute(("errors", "0"));
    suites.push_attribute(("skipped", skipped.as_str()));
    suites.push_attribute(("time", time.as_str()));
    w.write_event(Event::Start(suites))
        .map_err(std::io::Error::other)?;
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", "kanon"));
    suite.push_attribute(("tests", tests.as_str()));
    suite.push_attribute(("failures", failures.as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", skipped.as_str()));
    suite.push_attribute(("time", time.as_str()));
    suite.push_attribute(("timestamp", run.started.as_str()));
    w.write_event(Event::Start(suite))
        .map_err(std::io::Error::other)?;
    let mut run_props: Vec<(&str, String)> = Vec::new();
    if let Some(why) = &run.interrupted {
        run_props.push(("interrupted", why.clone()));
    }
    if let Some(shard) = &run.shard {
        run_props.push(("shard", format!("{}/{}", shard.index, shard.count)));
    }
    if !run_props.is_empty() {
        w.write_event(Event::Start(BytesStart::new("properties")))
            .map_err(std::io::Error::other)?;
        for (name, value) in &run_props {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", *name));
            p.push_attribute(("value", value.as_str()));
            w.write_event(Event::Empty(p))
                .map_err(std::io::Error::other)?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))
            .map_err(std::io::Error::other)?;
    }

    for s in &run.scenarios {
        let mut case = BytesStart::new("testcase");
        let time = secs(s.duration());
        case.push_attribute(("name", s.name.as_str()));
        case.push_attribute(("classname", s.file.as_str()));
        case.push_attribute(("time", time.as_str()));
        w.write_event(Event::Start(case))
            .map_err(std::io::Error::other)?;

        w.write_event(Event::Start(BytesStart::new("properties")))
            .map_err(std::io::Error::other)?;
        let mut props: Vec<(String, String)> = Vec::new();
        if !s.clauses.is_empty() {
            props.push(("clauses".into(), s.clauses.join(",")));
        }
        props.push(("namespace".into(), s.namespace.clone()));
        props.push(("attempts".into(), s.attempts.len().to_string()));
        for (i, warning) in s.warnings.iter().enumerate() {
            props.push((format!("warning.{}", i + 1), warning.clone()));
        }
        if s.status == Status::Flaky {
            props.push(("flaky".into(), "true".into()));
        }
        if let Some(last) = s.attempts.last() {
            for (i, step) in last.steps.iter().enumerate() {
                props.push((
                    format!("step.{}", i + 1),
                    format!("{}: {:?}", step.name, step.status).to_lowercase(),
                ));
            }
        }
        for (name, value) in &props {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", name.as_str()));
            p.push_attribute(("value", value.as_str()));
            w.write_event(Event::Empty(p))
                .map_err(std::io::Error::other)?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))
            .map_err(std::io::Error::other)?;

        match s.status {
            Status::Failed => {
                let f = s.failure().cloned().unwrap_or_default();
                let mut el = BytesStart::new("failure");
                el.push_attribute(("message", f.message.as_str()));
                el.push_attribute(("type", "ScenarioFailed"));
                w.write_event(Event::Start(el))
                    .map_err(std::io::Error::other)?;
                let mut body = f.errors.join("\n");
                if !f.diff.is_empty() {
                    body.push_str("\n\n");
                    body.push_str(&f.diff);
                }
                write_cdata(&mut w, &body).map_err(io)?;
                w.write_event(Event::End(BytesEnd::new("failure")))
                    .map_err(std::io::Error::other)?;
            }
            Status::Skipped => {
                let mut el = BytesStart::new("skipped");
                if let Some(r) = &s.skip_reason {
                    el.push_attribute(("message", r.as_str()));
                }
                w.write_event(Event::Empty(el))
                    .map_err(std::io::Error::other)?;
            }
            Status::Passed | Status::Flaky => {}
        }
        if s.status == Status::Flaky {
            // Earlier failing attempts, as Surefire's rerun convention names them.
            for a in s.attempts.iter().filter(|a| a.status == Status::Failed) {
                let f = a.failure.clone().unwrap_or_default();
                let mut el = BytesStart::new("flakyFailure");
                el.push_attribute(("message", f.message.as_str()));
                el.push_attribute(("type", "ScenarioFailed"));
                w.write_event(Event::Empty(el))
                    .map_err(std::io::Error::other)?;
            }
        }
        if !s.warnings.is_empty() {
            // JUnit has no warnings: they go where CI tools show a test's output.
            w.write_event(Event::Start(BytesStart::new("system-err")))
                .map_err(std::io::Error::other)?;
            let text: Vec<String> = s.warnings.iter().map(|w| format!("warning: {w}")).collect();
            write_cdata(&mut w, &text.join("\n")).map_err(io)?;
            w.write_event(Event::End(BytesEnd::new("system-err")))
                .map_err(std::io::Error::other)?;
        }
        w.write_event(Event::End(BytesEnd::new("testcase")))
            .map_err(std::io::Error::other)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
        .map_err(std::io::Error::other)?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))
        .map_err(std::io::Error::other)?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

/// Writes `text` as CDATA, splitting any `]]>` it contains.
fn write_cdata(w: &mut Writer<Vec<u8>>, text: &str) -> Result<(), quick_xml::Error> {
    if text.is_empty() {
        return w
            .write_event(Event::Text(BytesText::new("")))
            .map_err(quick_xml::Error::from);
    }
    let parts: Vec<&str> = text.split("]]>").collect();
    for (i, part) in parts.iter().enumerate() {
        let mut chunk = part.to_string();
        if i + 1 < parts.len() {
            chunk.push_str("]]");
        }
        let chunk = if i > 0 { format!(">{chunk}") } else { chunk };
        w.write_event(Event::CData(BytesCData::new(chunk)))
            .map_err(quick_xml::Error::from)?;
    }
    Ok(())
}
