"""Booking: a request, its answer and rules, the calendar, batches, the use and its evaluation."""
