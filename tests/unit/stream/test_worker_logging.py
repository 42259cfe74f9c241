import logging

import faust

from hotline.stream import worker_logging


def test_stock_faust_worker_lowers_the_root_logger_to_debug():
    # The upstream defect the project's Worker works around: when this fails, faust
    # no longer lowers the level and `hotline.stream.worker_logging` can go.
    assert worker_logging.root_logger_after_setup(faust.Worker, logging.WARNING) == logging.DEBUG


def test_project_worker_keeps_the_requested_level():
    assert worker_logging.root_logger_after_setup(worker_logging.Worker, logging.WARNING) == logging.WARNING
    assert worker_logging.root_logger_after_setup(worker_logging.Worker, logging.ERROR) == logging.ERROR


def test_below_warn_both_keep_the_level_and_have_no_spinner():
    assert worker_logging.root_logger_after_setup(faust.Worker, logging.INFO) == logging.INFO
    assert worker_logging.root_logger_after_setup(worker_logging.Worker, logging.INFO) == logging.INFO


def test_apps_use_the_project_worker():
    from hotline.bench import forwarder
    from hotline.stream.app import app

    assert app.conf.Worker is worker_logging.Worker
    assert forwarder.app.conf.Worker is worker_logging.Worker
