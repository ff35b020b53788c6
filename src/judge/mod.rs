//! The judge: decides the sites where the right rewrite depends on intent
//! (heuristics → verdict cache → LLM → fallback).

pub mod cache;
mod http;
pub mod llm;
pub mod ollama;
pub mod openai;
