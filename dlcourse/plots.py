"""Small plotting helpers shared by notebooks and explanation pages."""
from __future__ import annotations


def attention_map(weights, *, query_labels=None, key_labels=None, ax=None, title=None):
    """Heatmap of one (queries x keys) attention matrix, rows summing to one."""
    import matplotlib.pyplot as plt

    w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else weights
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-9))
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    if key_labels is not None:
        ax.set_xticks(range(len(key_labels)), key_labels, rotation=90)
    if query_labels is not None:
        ax.set_yticks(range(len(query_labels)), query_labels)
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax
