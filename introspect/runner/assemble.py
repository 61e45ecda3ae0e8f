"""From a parsed job to what the graph runs with: its runtime context and its first input."""

from __future__ import annotations

from typing import Any

from langchain_core.retrievers import BaseRetriever

from introspect.critics import LlmCritic, VerifierFeedbackCritic
from introspect.critics.base import Critic
from introspect.prompting import PromptLibrary, default_library, library_with
from introspect.retrieval import CorpusRetriever
from introspect.runner.context import GraphContext, ModelProvider, Recorder
from introspect.runner.deps import RunnerDeps
from introspect.runner.spec import JobSpec
from introspect.verifiers.registry import build_verifier


def make_critic(spec: JobSpec, models: ModelProvider, prompts: PromptLibrary) -> Critic:
    """``feedback``: RISE's verifier-feedback critic; ``llm``: a model critic (the critic model, else
    the generator); ``auto``: the model critic only when a critic model is configured."""
    use_llm = spec.critic == "llm" or (spec.critic == "auto" and spec.critic_model is not None)
    if not use_llm:
        return VerifierFeedbackCritic()
    name = spec.critic_model or spec.options.generator_model
    return LlmCritic(models.chat_model(name), name, prompts=prompts, max_tokens=spec.options.max_tokens)


def make_retriever(spec: JobSpec, deps: RunnerDeps) -> BaseRetriever | None:
    if spec.corpus is None:
        return None
    if deps.retriever_factory is not None:
        return deps.retriever_factory(spec.corpus)
    return CorpusRetriever(
        session_factory=deps.session_factory, corpus=spec.corpus, k=spec.policy.retrieval_k
    )


def prompt_library(deps: RunnerDeps) -> PromptLibrary:
    """Built-in templates, then the local model's own (the demo model's RISE format), then the
    operator's prompt directory: each replaces the templates of the same name."""
    own = getattr(deps.models, "prompt_overrides", None)
    overlays = [p for p in (own() if callable(own) else None, deps.settings.prompts_dir) if p is not None]
    return library_with(tuple(overlays)) if overlays else default_library()


def build_context(spec: JobSpec, deps: RunnerDeps, recorder: Recorder) -> GraphContext:
    verifier = None
    if spec.verifier is not None:
        scorer = deps.models.scorer() if spec.verifier.entry.needs_scorer else None
        verifier = build_verifier(spec.verifier, scorer=scorer)
    prompts = deps.prompts or prompt_library(deps)
    return GraphContext(
        models=deps.models,
        recorder=recorder,
        critic=make_critic(spec, deps.models, prompts),
        verifier=verifier,
        retriever=make_retriever(spec, deps),
        policy=spec.policy,
        options=spec.options,
        prompts=prompts,
    )


def initial_input(spec: JobSpec) -> dict[str, Any]:
    return {
        "task": {"prompt": spec.prompt, "messages": spec.messages, "reference": spec.reference},
        "next_index": 0,
    }
