"""What framework transformers needs beyond its three modules: the text shapes and tokenization (``text``), the
model's sources and checkpoint layout (``model``), the memory estimate (``memory``) and the driver's checks before
Ray starts (``probe``)."""
