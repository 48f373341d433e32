# DG-STGCN's schedule (PYSKL's configs/dgstgcn): that of sgd_cosine_16e.py for 150 epochs, its
# dataset bases not repeating the training set.
_base_ = "sgd_cosine_16e.py"
total_epochs = 150
