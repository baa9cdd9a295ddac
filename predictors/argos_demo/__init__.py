"""The embedded demo model: a small real English→Spanish Argos package trained from a grammar.

Pipeline (`python -m argos_demo build`): generate a synthetic parallel corpus from the closed
demo domain (`grammar`), train a shared SentencePiece vocabulary (`vocabulary`), train a small
Transformer in torch (`model`, `training`), export it to CTranslate2 (`export`), zip a standard
`.argosmodel` (`argos_package`) and evaluate it on fresh sentences (`evaluation`).
"""

PACKAGE_NAME = "translate-en_es-1_0"
