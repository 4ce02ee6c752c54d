//! The remote judge against a local OpenAI-compatible stub on 127.0.0.1.
use engine::judge::{Judge, JudgeFailure, JudgePrompt};
use eval::remote::{RemoteConfig, RemoteJudge};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Serves the given (status, body) replies in order, recording each request's headers and body.
fn stub(replies: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (status, body) in replies {
            let Ok((mut s, _)) = listener.accept() else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line.to_lowercase().starts_with("content-length:") {
                    len = line[15..].trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let mut buf = vec![0; len];
            r.read_exact(&mut buf).unwrap();
            log.lock().unwrap().push(format!("{head}\n{}", String::from_utf8_lossy(&buf)));
            let resp = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            s.write_all(resp.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

fn reply(text: &str) -> String {
    serde_json::json!({"choices": [{"message": {"role": "assistant", "content": text}}]}).to_string()
}

fn judge(url: String) -> RemoteJudge {
    let cfg = RemoteConfig { base_url: url, model: "judge-model".into(), api_key_env: "SRLM_TEST_KEY".into(), prompt: JudgePrompt::Condensed, retries: 2, timeout_secs: 5, ..Default::default() };
    std::env::set_var("SRLM_TEST_KEY", "sk-secret");
    let mut j = RemoteJudge::new(cfg).unwrap();
    j.backoff = Duration::from_millis(1);
    j
}

/// An API-key variable that is not set is an error naming it, before any request.
#[test]
fn an_unset_key_variable_is_refused_up_front() {
    let cfg = RemoteConfig { base_url: "http://127.0.0.1:9".into(), api_key_env: "SRLM_TEST_UNSET_KEY_VAR".into(), ..Default::default() };
    let e = RemoteJudge::new(cfg).err().expect("refused").to_string();
    assert!(e.contains("SRLM_TEST_UNSET_KEY_VAR") && e.contains("not set"), "{e}");
    let cfg = RemoteConfig { base_url: "http://127.0.0.1:9".into(), api_key_env: String::new(), ..Default::default() };
    assert!(RemoteJudge::new(cfg).is_ok(), "no key variable is fine for a local server");
}

#[test]
fn retries_server_errors_then_parses_the_score() {
    std::env::set_var("SRLM_TEST_KEY", "sk-secret");
    let (url, seen) = stub(vec![(503, "{}".into()), (200, reply("Direct and exact. Score: 4"))]);
    let out = judge(url).judge(&[("Reverse: a b".into(), "b a".into())]);
    assert_eq!(out[0].as_ref().unwrap().score, 4.0);
    let reqs = seen.lock().unwrap();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].contains("Bearer sk-secret"));
    assert!(reqs[1].contains("judge-model") && reqs[1].contains("Reverse: a b"));
}

#[test]
fn persistent_failures_and_unparsable_replies_are_typed() {
    let (url, _) = stub(vec![(500, "{}".into()), (500, "{}".into()), (500, "{}".into())]);
    let out = judge(url.clone()).judge(&[("i".into(), "r".into())]);
    match &out[0] {
        Err(JudgeFailure::Backend(msg)) => {
            assert!(msg.contains("HTTP 500") && msg.contains("3 attempts"), "{msg}");
            assert!(!msg.contains("sk-"), "the key leaked: {msg}");
        }
        other => panic!("expected a typed failure, got {other:?}"),
    }
    let (url, _) = stub(vec![(200, reply("I like it."))]);
    assert!(matches!(judge(url).judge(&[("i".into(), "r".into())])[0], Err(JudgeFailure::NoValidScore(_))));
    let (url, _) = stub(vec![(401, "{}".into())]);
    let out = judge(url).judge(&[("i".into(), "r".into())]);
    assert!(matches!(&out[0], Err(JudgeFailure::Backend(m)) if m.contains("HTTP 401")));
}
