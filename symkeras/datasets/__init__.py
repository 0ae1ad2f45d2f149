"""Keras's small datasets (``keras.datasets``), downloaded once into the Keras cache by ``get_file``.

Each module's ``load_data()`` returns NumPy arrays with tf-keras's shapes and dtypes. Files are
read as data: archives and pickles go through ``safe_files``, which builds arrays, lists and
dicts and refuses any other Python object a file might name.
"""

from symkeras.datasets import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters  # noqa: F401
